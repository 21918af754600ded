import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct DiscardQueueTests {
    @Test func acceptsWithoutStoring() async throws {
        let harness = try PluginHarness("queue/discard")
        try await harness.mail(from: "sender@example.org")
        try await harness.rcpt(to: "rcpt@example.net")
        try harness.setMessage("Subject: x\r\n\r\nbody\r\n")
        #expect(try await harness.queue() == .ok("Queued! (discarded)"))
    }

    @Test func refusesArguments() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/discard /var/mail") }
    }

    @Test func isBuiltIn() {
        #expect(BuiltInPlugins.all.contains { $0.name == "queue/discard" && $0.type == DiscardQueue.self })
    }
}
