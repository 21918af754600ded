import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct BadRcptToTests {
    static let list = ["Nobody@Test.Example", "@closed.example   That domain is closed", "^.*%.*@", "\\S+!\\S+@   no bang paths"]

    @Test(arguments: [
        ("nobody@test.example", HookResult.deny("5.1.1 mail to nobody@test.example not accepted here")),
        ("NOBODY@test.example", .deny("5.1.1 mail to nobody@test.example not accepted here")),
        ("someone@closed.example", .deny("That domain is closed")),
        ("a%b@test.example", .deny("5.1.1 mail to ^.*%.*@ not accepted here")),
        ("A!B@test.example", .deny("no bang paths")),
        ("somebody@test.example", .declined),
    ])
    func recipients(recipient: String, expected: HookResult) async throws {
        let harness = try PluginHarness("badrcptto", config: ["badrcptto": Self.list])
        #expect(try await harness.rcpt(to: recipient) == expected)
    }

    @Test func matchCostsTwoKarmaAndImmuneClientsPass() async throws {
        let harness = try PluginHarness("badrcptto", config: ["badrcptto": Self.list])
        try await harness.rcpt(to: "nobody@test.example")
        #expect(harness.connection[note: .karma] == -2)
        harness.transaction[note: .whitelistSender] = true
        #expect(try await harness.rcpt(to: "nobody@test.example") == .declined)
    }

    @Test(arguments: [
        ("check_badrcptto", HookResult.deny("5.1.1 mail to nobody@test.example not accepted here")),
        ("badrcptto reject_type temp", .denySoft("5.1.1 mail to nobody@test.example not accepted here")),
        ("badrcptto reject 0", .declined),
    ])
    func arguments(line: String, expected: HookResult) async throws {
        let harness = try PluginHarness(line, config: ["badrcptto": Self.list])
        #expect(try await harness.rcpt(to: "nobody@test.example") == expected)
    }

    @Test func patternsAliasReadsItsOwnFile() async throws {
        let harness = try PluginHarness("check_badrcptto_patterns", config: ["badrcptto_patterns": ["^info@   no info"], "badrcptto": Self.list])
        #expect(try await harness.rcpt(to: "info@test.example") == .deny("no info"))
        #expect(try await harness.rcpt(to: "nobody@test.example") == .declined)
    }

    @Test func badLinesAndArgumentsAreRefused() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("badrcptto", config: ["badrcptto": ["(?<unclosed@"]]) }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("badrcptto reject maybe") }
    }
}
