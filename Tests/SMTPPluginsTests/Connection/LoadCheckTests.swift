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

@Suite struct RandomErrorTests {
    private static let failures: Set<HookResult> = [.denySoft("random failure"), .denySoftDisconnect("random failure")]

    /// 600 % means a 100 % chance at each hook.
    @Test func alwaysFailsAtSixHundredPercent() async throws {
        var seen: Set<HookResult> = []
        for _ in 0..<40 {
            let harness = try PluginHarness("random_error 600")
            let result = try await harness.connect()
            #expect(Self.failures.contains(result))
            seen.insert(result)
        }
        #expect(seen == Self.failures, "both kinds of failure turn up")
    }

    @Test(arguments: ["random_error -1", "random_error 0"])
    func neverFailsWhenDisabled(line: String) async throws {
        let harness = try PluginHarness(line)
        for _ in 0..<50 { #expect(try await harness.connect() == .declined) }
        for point in [HookPoint.data, .dataPost] { #expect(try await harness.run(point) == .declined) }
    }

    @Test func theNoteSetsTheRateForTheConnection() async throws {
        let harness = try PluginHarness("random_error 600")
        harness.connection[note: RandomError.rate] = 0
        for point in [HookPoint.data, .dataPost] { #expect(try await harness.run(point) == .declined) }
        harness.connection[note: RandomError.rate] = 600
        #expect(try await harness.mail(from: "a@example.org") != .declined)
        #expect(try await harness.rcpt(to: "a@example.org") != .declined)
        #expect(try await harness.helo("x.example") != .declined)
        #expect(try await harness.ehlo("x.example") != .declined)
    }

    @Test func defaultRateIsOnePercent() async throws {
        let harness = try PluginHarness("random_error")
        _ = try? await harness.connect()
        #expect(harness.connection[note: RandomError.rate] == 1)
    }

    @Test(arguments: ["random_error often", "random_error 1 2"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: ["plugins": ["random_error 600"]]) { client in
            let reply = try await client.reply().expect(421, "4.7.1")
            #expect(reply.text == "4.7.1 random failure")
        }
    }
}
