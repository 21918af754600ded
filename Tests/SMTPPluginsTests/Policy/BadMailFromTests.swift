import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct BadMailFromTests {
    static let list = [
        "spammer@example.com",
        "@spam.example   Go away, spam.example",
        "^streamsendbouncer@.*\\.mailengine1\\.com$    VERP does not fool me",
        "nodomain",
    ]
    static let defaultText = "Your envelope sender is in my badmailfrom list"

    @Test(arguments: [
        ("spammer@example.com", HookResult.deny(defaultText)),
        ("SPAMMER@Example.COM", .deny(defaultText)),
        ("anyone@spam.example", .deny("Go away, spam.example")),
        ("anyone@sub.spam.example", .declined),
        ("streamsendbouncer@x.mailengine1.com", .deny("VERP does not fool me")),
        ("friend@example.com", .declined),
        ("nodomain@example.com", .declined),
        ("<>", .declined),
    ])
    func senders(sender: String, expected: HookResult) async throws {
        let harness = try PluginHarness("badmailfrom", config: ["badmailfrom": Self.list])
        #expect(try await harness.mail(from: sender) == expected)
    }

    @Test func matchCostsKarma() async throws {
        let harness = try PluginHarness("badmailfrom", config: ["badmailfrom": Self.list])
        try await harness.mail(from: "spammer@example.com")
        #expect(harness.connection[note: .karma] == -1)
    }

    /// Patterns see the lower-cased address and, as in qpsmtpd, match with case.
    @Test func patternsMatchTheLowerCasedAddress() async throws {
        let upper = try PluginHarness("badmailfrom", config: ["badmailfrom": ["^Big@x\\.example$"]])
        #expect(try await upper.mail(from: "Big@x.example") == .declined)
        let lower = try PluginHarness("badmailfrom", config: ["badmailfrom": ["^big@x\\.example$"]])
        #expect(try await lower.mail(from: "BIG@X.example") == .deny(Self.defaultText))
        #expect(try await lower.mail(from: "bigger@x.example") == .declined)
    }

    /// `+` makes a line a pattern, as in qpsmtpd: `a+b@x` never matches itself; `a\+b@x` does.
    @Test func plusMakesAPattern() async throws {
        let harness = try PluginHarness("badmailfrom", config: ["badmailfrom": ["a+b@x.example", "c\\+d@x.example"]])
        #expect(try await harness.mail(from: "a+b@x.example") == .declined)
        #expect(try await harness.mail(from: "aab@x.example") == .deny(Self.defaultText))
        #expect(try await harness.mail(from: "c+d@x.example") == .deny(Self.defaultText))
    }

    @Test func immuneClientsAreSkipped() async throws {
        let harness = try PluginHarness("badmailfrom", config: ["badmailfrom": Self.list])
        harness.connection.isRelayClient = true
        #expect(try await harness.mail(from: "spammer@example.com") == .declined)
        harness.connection.isRelayClient = false
        harness.connection[note: .whitelistHost] = true
        #expect(try await harness.mail(from: "spammer@example.com") == .declined)
    }

    @Test(arguments: [
        ("badmailfrom reject 0", HookResult.declined),
        ("badmailfrom reject_type temp", .denySoft(defaultText)),
        ("badmailfrom reject_type disconnect", .denyDisconnect(defaultText)),
        ("check_badmailfrom", .deny(defaultText)),
    ])
    func arguments(line: String, expected: HookResult) async throws {
        let harness = try PluginHarness(line, config: ["badmailfrom": Self.list])
        #expect(try await harness.mail(from: "spammer@example.com") == expected)
    }

    @Test func rejectNaughtyDefers() async throws {
        let harness = try PluginHarness("badmailfrom reject naughty", config: ["badmailfrom": Self.list])
        #expect(try await harness.mail(from: "spammer@example.com") == .declined)
        #expect(harness.connection[note: .naughty] == Self.defaultText)
    }

    @Test(arguments: ["badmailfrom reject 2", "badmailfrom bogus 1", "badmailfrom reject"])
    func badArgumentsAreRefused(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test func aPatternSwiftCannotCompileStopsTheLoad() {
        #expect {
            try PluginHarness("badmailfrom", config: ["badmailfrom": ["ok@example.com", "^broken(@x$"]])
        } throws: { error in
            "\(error)".contains("memory:badmailfrom:2") && "\(error)".contains("^broken(@x$")
        }
    }

    /// The old alias reads its own file, every line a pattern, with its own default text.
    @Test func patternsAlias() async throws {
        let config = ["badmailfrom_patterns": ["^bad\\.", "%.*@   percent hack"], "badmailfrom": ["other@example.com"]]
        let harness = try PluginHarness("check_badmailfrom_patterns", config: config)
        #expect(try await harness.mail(from: "bad.guy@example.com") == .deny("Your envelope sender is in my badmailfrom_patterns list"))
        #expect(try await harness.mail(from: "a%b@example.com") == .deny("percent hack"))
        #expect(try await harness.mail(from: "other@example.com") == .declined)
    }
}

@Suite struct BadMailFromToTests {
    static let pairs = ["stalker@example.com victim@test.example", "@annoying.example boss@test.example", "lonely@example.com"]

    @Test(arguments: [
        ("stalker@example.com", "victim@test.example", HookResult.deny("5.1.1 mail to victim@test.example not accepted here")),
        ("Stalker@EXAMPLE.com", "Victim@test.example", .deny("5.1.1 mail to victim@test.example not accepted here")),
        ("stalker@example.com", "other@test.example", .declined),
        ("anyone@annoying.example", "boss@test.example", .deny("5.1.1 mail to boss@test.example not accepted here")),
        ("friend@example.com", "victim@test.example", .declined),
        ("<>", "victim@test.example", .declined),
    ])
    func pairs(sender: String, recipient: String, expected: HookResult) async throws {
        let harness = try PluginHarness("badmailfromto", config: ["badmailfromto": Self.pairs])
        #expect(try await harness.mail(from: sender) == .declined)
        #expect(try await harness.rcpt(to: recipient) == expected)
    }

    @Test func aliasAndRejectArguments() async throws {
        let harness = try PluginHarness("check_badmailfromto reject_type temp", config: ["badmailfromto": Self.pairs])
        try await harness.mail(from: "stalker@example.com")
        #expect(harness.transaction[note: .badMailFromTo] == ["stalker@example.com"])
        #expect(try await harness.rcpt(to: "victim@test.example") == .denySoft("5.1.1 mail to victim@test.example not accepted here"))
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("badmailfromto extra") }
    }
}
