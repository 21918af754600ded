import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct LoadCheckTests {
    private static let refusal = HookResult.denySoft("Server load too high, please try again later.")

    private func loadFile(_ load: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("loadavg", "\(load) 1.00 1.00 2/345 6789\n")
        return directory
    }

    @Test func refusesAboveTheMaximum() async throws {
        let file = try loadFile("7.01")
        #expect(try await PluginHarness("loadcheck loadavg \(file.path)/loadavg").connect() == Self.refusal)
        #expect(try await PluginHarness("loadcheck max_load 8 loadavg \(file.path)/loadavg").connect() == .declined)
    }

    @Test func acceptsAtTheMaximum() async throws {
        let file = try loadFile("7.00")
        #expect(try await PluginHarness("loadcheck loadavg \(file.path)/loadavg").connect() == .declined)
    }

    @Test func readsTheRealLoad() async throws {
        #expect(try await PluginHarness("loadcheck max_load 100000").connect() == .declined)
    }

    /// The load is read again only after cache_time seconds.
    @Test func cachesTheLoad() async throws {
        let file = try loadFile("0.10")
        let clock = ManualClock()
        let harness = try PluginHarness("loadcheck cache_time 30 loadavg \(file.path)/loadavg", services: PluginServices(hostName: "mx.test.example", clock: clock))
        #expect(try await harness.connect() == .declined)
        try file.write("loadavg", "12.00 1.00 1.00 2/345 6789\n")
        clock.advance(by: .seconds(30))
        #expect(try await harness.connect() == .declined)
        clock.advance(by: .seconds(1))
        #expect(try await harness.connect() == Self.refusal)
    }

    @Test(arguments: ["loadcheck max_load high", "loadcheck cache_time -1", "loadcheck loadavg /nonexistent/loadavg", "loadcheck max_load", "loadcheck speed 3"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test func acceptsTheOldUptimeArgument() throws {
        _ = try PluginHarness("loadcheck uptime /usr/bin/uptime")
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        let file = try loadFile("20.5")
        try await SMTPTestClient.with(setup, config: ["plugins": ["loadcheck loadavg \(file.path)/loadavg"]]) { client in
            let reply = try await client.reply().expect(421, "4.7.1")
            #expect(reply.text == "4.7.1 Server load too high, please try again later.")
            #expect(try await client.isClosed())
        }
    }
}
