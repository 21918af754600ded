import SMTPCore
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

@Suite struct DiscardQueueTests {
    @Test func acceptsWithoutStoring() async throws {
        let plugin = try DiscardQueue(context: Fixture.context("queue/discard"))
        let transaction = Transaction(id: "t")
        transaction.sender = .mailbox(Fixture.mailbox("sender@example.org"))
        transaction.recipients = [Fixture.mailbox("rcpt@example.net")]
        let (header, body) = try Fixture.message("Subject: x\r\n\r\nbody\r\n")
        transaction.header = header
        transaction.body = body
        let result = try await Fixture.call(Fixture.registry(plugin), .queue, Fixture.connection(), transaction)
        #expect(result == .ok("Queued! (discarded)"))
    }

    @Test func refusesArguments() {
        #expect(throws: PluginArgumentError.self) {
            try DiscardQueue(context: Fixture.context("queue/discard", ["/var/mail"]))
        }
    }

    @Test func isBuiltIn() {
        #expect(BuiltInPlugins.all.contains { $0.name == "queue/discard" && $0.type == DiscardQueue.self })
    }
}
