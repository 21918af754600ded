import SMTPDaemon
import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

/// How hook calls end: at their deadline, at shutdown, or when a plugin blocks a thread.
@Suite("Hook engine", .timeLimit(.minutes(1))) struct HookEngineTests {
    @Test func aPluginsWorkIsCancelledWhenItsDeadlinePasses() async throws {
        let harness = try PluginHarness("test/sleeper timeout 1", plugins: .scripted, pluginTimeout: .seconds(60))
        let start = ContinuousClock.now
        await #expect(throws: PluginHarness.HookFailed.self) { try await harness.mail(from: "a@b.example") }
        // Its own `timeout 1` (plus the grace for a plugin that watches its deadline), not plugin_timeout 60.
        #expect(ContinuousClock.now - start < .seconds(3))
        // Cancellation reached the plugin: its Task.sleep ended early.
        try await Sleeper.waitForCancellation(of: harness.connection.id)
    }

    @Test func shutdownFinishesWithinTheGraceEvenWhenAPluginBlocksItsThread() async throws {
        let (files, _) = deliveringConfig(["plugin_timeout": ["60"]], plugins: ["test/answer mail block"])
        let server = try await TestServer.start(config: files, plugins: .scripted, shutdownGrace: .seconds(1))
        let client = try await server.connect()
        try await client.expect(220)
        try await client.command("EHLO c")
        try await client.send("MAIL FROM:<s@x.example>\r\n")
        try await Task.sleep(for: .milliseconds(200))  // the plugin is now blocked in sleep(30)
        let start = ContinuousClock.now
        await server.shutDown()
        // The grace period (1 s), not the plugin's 30 s nor plugin_timeout's 60 s.
        #expect(ContinuousClock.now - start < .seconds(4))
    }

    @Test func aPluginThatBlocksItsThreadStallsNoOtherSession() async throws {
        let (files, _) = deliveringConfig(["plugin_timeout": ["2"]], plugins: ["test/answer mail block"])
        try await withServer(files) { server in
            let blocked = try await server.connect()
            try await blocked.expect(220)
            try await blocked.command("EHLO c")
            try await blocked.send("MAIL FROM:<s@x.example>\r\n")
            // Several other sessions, on every event loop, are served while that thread is blocked.
            let start = ContinuousClock.now
            for _ in 0..<4 {
                let other = try await server.connect()
                try await other.expect(220)
                #expect(try await other.command("EHLO other").code == 250)
                #expect(try await other.command("NOOP").code == 250)
            }
            #expect(ContinuousClock.now - start < .seconds(3))  // far below the 30 s the thread is blocked, with room for a loaded CI machine
            // The blocked session gets its 451 at the deadline, not when the thread comes back.
            let failed = try await blocked.expect(451)
            #expect(failed.text.hasPrefix("4.3.0"))
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test func aPluginsOwnTimeoutOverridesPluginTimeout() async throws {
        let (files, _) = deliveringConfig(["plugin_timeout": ["60"]], plugins: ["test/answer mail hang timeout 1"])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO c")
            let start = ContinuousClock.now
            #expect(try await client.command("MAIL FROM:<s@x.example>").code == 451)
            #expect(ContinuousClock.now - start < .seconds(3))
        }
    }
}

/// `test/sleeper`: at MAIL, sleeps an hour unless cancelled, and records the cancellation.
struct Sleeper: SMTPPlugin {
    static let cancelled = Mutex<Set<String>>([])

    init(context: PluginContext) throws {}

    func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, _, _, _ in
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                Self.cancelled.withLock { _ = $0.insert(context.connection.id) }
                throw error
            }
            return .declined
        }
    }

    static func waitForCancellation(of connection: String) async throws {
        for _ in 0..<100 {
            if cancelled.withLock({ $0.contains(connection) }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the plugin's task was never cancelled")
    }
}
