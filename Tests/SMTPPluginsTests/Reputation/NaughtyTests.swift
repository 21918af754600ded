import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct NaughtyTests {
    @Test func aCleanConnectionPasses() async throws {
        let plugin = try PluginHarness("naughty")
        #expect(plugin.registeredHooks == [.rcpt, .dataPost])
        _ = try await plugin.mail(from: "a@example.org")
        #expect(try await plugin.rcpt(to: "u@test.example") == .declined)
        #expect(try await plugin.dataPost() == .declined)
    }

    @Test func aDeferredRefusalDisconnectsAtRcptByDefault() async throws {
        let plugin = try PluginHarness("naughty")
        plugin.connection[note: .naughty] = "Blocked by dnsbl.test"
        _ = try await plugin.mail(from: "a@example.org")
        #expect(try await plugin.rcpt(to: "u@test.example") == .denyDisconnect("Blocked by dnsbl.test"))
    }

    @Test(arguments: [("temp", HookResult.denySoft("x")), ("perm", .deny("x")), ("temp_disconnect", .denySoftDisconnect("x"))])
    func theNotedTypeWins(type: String, expected: HookResult) async throws {
        let plugin = try PluginHarness("naughty reject_type disconnect")
        plugin.connection[note: .naughty] = "x"
        plugin.connection[note: .naughtyRejectType] = type
        #expect(try await plugin.dataPost() == expected)
    }

    @Test func theLinesRejectTypeAppliesWhenNoneIsNoted() async throws {
        let plugin = try PluginHarness("naughty reject_type perm")
        plugin.connection[note: .naughty] = "x"
        #expect(try await plugin.dataPost() == .deny("x"))
    }

    @Test(arguments: ["connect", "mail", "rcpt", "data", "data_post"])
    func rejectChoosesThePhase(phase: String) throws {
        let hooks = try PluginHarness("naughty reject \(phase)").registeredHooks
        #expect(hooks == Set([HookPoint(rawValue: phase)!, .dataPost]))
    }

    @Test func refusesAtTheChosenPhase() async throws {
        let plugin = try PluginHarness("naughty reject mail")
        plugin.connection[note: .naughty] = "go away"
        #expect(try await plugin.mail(from: "a@example.org") == .denyDisconnect("go away"))
        let atConnect = try PluginHarness("naughty reject connect")
        atConnect.connection[note: .naughty] = "go away"
        #expect(try await atConnect.connect() == .denyDisconnect("go away"))
    }

    @Test(arguments: ["naughty reject 1", "naughty reject queue", "naughty reject_type maybe", "naughty colour blue", "naughty reject"])
    func badArgumentsStopTheLoad(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}
