import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct ContentLogTests {
    @Test func appendsEachMessage() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualClock()
        let harness = try PluginHarness(
            "content_log", config: ["content_log_file": ["\(directory.path)/%Y.log"]],
            services: PluginServices(hostName: "mx.test.example", clock: clock))
        try harness.setMessage("Subject: one\r\n\r\nfirst\r\n")
        #expect(try await harness.dataPost() == .declined)
        try harness.setMessage("Subject: two\r\n\r\nsecond\r\n")
        #expect(try await harness.dataPost() == .declined)
        let year = ContentLog.expand("%Y", at: clock.now)
        #expect(try directory.read("\(year).log") == "Subject: one\n\nfirst\nSubject: two\n\nsecond\n")
    }

    @Test func disabled() async throws {
        let harness = try PluginHarness("content_log", config: ["content_log_enabled": ["0"]])
        #expect(harness.registeredHooks.isEmpty)
    }

    @Test func anUnwritableFileDoesNotRefuse() async throws {
        let harness = try PluginHarness("content_log", config: ["content_log_file": ["/nonexistent/dir/%Y"]])
        try harness.setMessage("Subject: x\r\n\r\nbody\r\n")
        #expect(try await harness.dataPost() == .declined)
    }

    @Test func takesNoArguments() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("content_log yes") }
    }
}
