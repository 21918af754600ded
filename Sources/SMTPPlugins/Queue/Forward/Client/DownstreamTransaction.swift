import SMTPPluginAPI

/// What MAIL says beyond the sender: the message's size (RFC 1870) and whether it has 8-bit
/// bytes (RFC 6152), each sent only when the downstream offers the extension.
struct MailOptions: Sendable, Hashable {
    var size: Int?
    var eightBit = false
}

/// How the downstream answered the envelope: MAIL, and each RCPT in order (none when MAIL was
/// refused without pipelining, since then no RCPT was sent).
struct EnvelopeReplies: Sendable, Hashable {
    var mail: DownstreamReply
    var recipients: [RecipientReply]
}

/// One recipient and the downstream's answer to its RCPT.
struct RecipientReply: Sendable, Hashable {
    var recipient: Mailbox
    var reply: DownstreamReply
}

/// How the downstream answered the message.
enum MessageReplies: Sendable, Hashable {
    /// DATA itself was refused (no recipient left, or a policy).
    case dataRefused(DownstreamReply)
    /// After the final dot: one reply for SMTP, one per accepted recipient for LMTP.
    case final([DownstreamReply])
}

extension DownstreamConnection {
    func mailCommand(_ sender: ReversePath, _ options: MailOptions) -> String {
        var line = "MAIL FROM:\(sender.formatted)"
        if let size = options.size, capabilities.sizeLimit != nil { line += " SIZE=\(size)" }
        if options.eightBit && capabilities.eightBitMIME { line += " BODY=8BITMIME" }
        return line
    }

    /// MAIL and every RCPT. With PIPELINING they go in one write and the replies are read in
    /// order (RFC 2920 §3.1); without it one at a time, stopping when MAIL is refused.
    func sendEnvelope(
        sender: ReversePath, recipients: [Mailbox], options: MailOptions, deadlines: StepDeadlines
    ) async throws -> EnvelopeReplies {
        let commands = [mailCommand(sender, options)] + recipients.map { "RCPT TO:\($0.formatted)" }
        if capabilities.pipelining {
            try await write(Array(commands.map { $0 + "\r\n" }.joined().utf8), deadline: deadlines.command)
            let mail = try await readReply(deadline: deadlines.command)
            var replies: [RecipientReply] = []
            for recipient in recipients {
                replies.append(RecipientReply(recipient: recipient, reply: try await readReply(deadline: deadlines.command)))
            }
            return EnvelopeReplies(mail: mail, recipients: replies)
        }
        let mail = try await command(commands[0], deadline: deadlines.command)
        guard mail.isPositive else { return EnvelopeReplies(mail: mail, recipients: []) }
        var replies: [RecipientReply] = []
        for (recipient, line) in zip(recipients, commands.dropFirst()) {
            replies.append(RecipientReply(recipient: recipient, reply: try await command(line, deadline: deadlines.command)))
        }
        return EnvelopeReplies(mail: mail, recipients: replies)
    }

    /// DATA, the message dot-stuffed chunk by chunk as it comes from the spool, the final dot,
    /// and the reply (or, for LMTP, `acceptedRecipients` replies).
    func sendMessage<Message: AsyncSequence & Sendable>(
        _ message: Message, acceptedRecipients: Int, deadlines: StepDeadlines
    ) async throws -> MessageReplies where Message.Element == [UInt8] {
        let go = try await command("DATA", deadline: deadlines.command)
        guard go.code == 354 else { return .dataRefused(go) }
        var stuffer = DotStuffer()
        for try await chunk in message {
            let stuffed = stuffer.stuff(chunk)
            if !stuffed.isEmpty { try await write(stuffed, deadline: deadlines.command) }
        }
        try await write(stuffer.finish(), deadline: deadlines.command)
        let count = options.dialect == .lmtp ? acceptedRecipients : 1
        var replies: [DownstreamReply] = []
        for _ in 0..<count {
            replies.append(try await readReply(deadline: deadlines.dataEnd))
        }
        return .final(replies)
    }
}
