import SMTPCore
import SMTPPluginAPI

/// One message as a batch for `exim -bS` (Exim's "Batched SMTP" input): HELO, MAIL, one RCPT per
/// recipient, DATA, the message dot-stuffed, the final dot, QUIT. Commands only, no replies to
/// wait for: Exim reads the whole batch and reports any error once, at the end.
struct BSMTPBatch<Message: AsyncSequence & Sendable>: AsyncSequence, Sendable where Message.Element == [UInt8] {
    typealias Element = [UInt8]
    let commands: [UInt8]
    let message: Message

    init(helo: String, sender: ReversePath?, recipients: [Mailbox], message: Message) {
        var text = "HELO \(helo)\r\nMAIL FROM:\(sender?.formatted ?? "<>")\r\n"
        for recipient in recipients { text += "RCPT TO:\(recipient.formatted)\r\n" }
        text += "DATA\r\n"
        commands = Array(text.utf8)
        self.message = message
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var commands: [UInt8]?
        var message: Message.AsyncIterator
        var stuffer = DotStuffer()
        var finished = false

        mutating func next() async throws -> [UInt8]? {
            if let commands {
                self.commands = nil
                return commands
            }
            while !finished {
                guard let chunk = try await message.next() else {
                    finished = true
                    return stuffer.finish() + Array("QUIT\r\n".utf8)
                }
                let stuffed = stuffer.stuff(chunk)
                if !stuffed.isEmpty { return stuffed }
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(commands: commands, message: message.makeAsyncIterator()) }
}
