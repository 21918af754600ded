import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

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
