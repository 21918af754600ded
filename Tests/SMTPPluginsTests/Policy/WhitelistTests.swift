import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// `whitelist` with `WHITELISTCLIENT` set, as tcpserver would set it.
struct WhitelistWithClientVariable: SMTPPlugin {
    let inner: Whitelist
    init(context: PluginContext) throws {
        inner = try Whitelist(context: context) { $0 == "WHITELISTCLIENT" ? "" : nil }
    }
    func register(into hooks: inout HookRegistry) { inner.register(into: &hooks) }
}

@Suite struct WhitelistTests {
    static let config = [
        "whitelisthosts": ["192.0.2.0/28", "198.51.100.", "10.1", "not-an-address"],
        "whitelisthelo": ["Friend.Example"],
        "whitelistsenders": ["boss@partner.example", "Trusted.Example"],
        "whitelistrcpt": ["postmaster@test.example", "open.example"],
    ]

    @Test(arguments: [
        ("192.0.2.10", true), ("198.51.100.77", true), ("10.1.2.3", true), ("10.10.0.1", true),
        ("192.0.2.20", false), ("203.0.113.1", false),
    ])
    func hosts(ip: String, listed: Bool) async throws {
        let harness = try PluginHarness("whitelist", config: Self.config, remoteIP: ip)
        #expect(try await harness.connect() == (listed ? .ok() : .declined))
        #expect(harness.connection[note: .whitelistHost] == (listed ? true : nil))
        #expect(harness.connection[note: .karma] == (listed ? 5 : nil))
    }

    @Test func clientVariable() async throws {
        let harness = try PluginHarness(WhitelistWithClientVariable.self, "test/whitelist", remoteIP: "203.0.113.1")
        #expect(try await harness.connect() == .ok())
        #expect(harness.connection[note: .whitelistClient] == true)
        #expect(harness.connection[note: .whitelistHost] == nil)
    }

    @Test func heloSenderRecipient() async throws {
        let harness = try PluginHarness("whitelist", config: Self.config, remoteIP: "203.0.113.1")
        #expect(try await harness.helo("friend.example") == .ok())
        #expect(harness.connection[note: .whitelistHelo] == true)
        #expect(try await harness.ehlo("stranger.example") == .declined)

        #expect(try await harness.mail(from: "Boss@Partner.example") == .ok())
        #expect(harness.transaction[note: .whitelistSender] == true)
        #expect(try await harness.mail(from: "anyone@trusted.example") == .ok())
        #expect(try await harness.mail(from: "other@partner.example") == .declined)
        #expect(try await harness.mail(from: "<>") == .declined)
        #expect(harness.transaction[note: .whitelistSender] == nil)

        #expect(try await harness.rcpt(to: "postmaster@test.example") == .ok())
        #expect(try await harness.rcpt(to: "anyone@open.example") == .ok())
        #expect(try await harness.rcpt(to: "user@test.example") == .declined)
        #expect(harness.transaction[note: .whitelistRcpt] == 2)
    }

    /// A whitelisted sender makes later checks step aside through `isImmune`.
    @Test func whitelistedSenderIsImmuneToBadmailfrom() async throws {
        var config = Self.config
        config["badmailfrom"] = ["@partner.example"]
        let harness = try PluginHarness("whitelist", "badmailfrom", config: config, remoteIP: "203.0.113.1")
        #expect(try await harness.mail(from: "boss@partner.example") == .ok())
        #expect(try await harness.mail(from: "other@partner.example") == .deny("Your envelope sender is in my badmailfrom list"))
    }

    @Test func perRecipientChecksEverythingAtRcpt() async throws {
        let harness = try PluginHarness("whitelist per_recipient 1 merge 0", config: Self.config, remoteIP: "203.0.113.1")
        #expect(harness.registeredHooks == [.rcpt])
        #expect(try await harness.rcpt(to: "user@test.example") == .declined)
        harness.connection.helloHost = "friend.example"
        #expect(try await harness.rcpt(to: "user@test.example") == .ok())
        harness.connection.helloHost = "x.example"
        try await harness.mail(from: "boss@partner.example")
        #expect(try await harness.rcpt(to: "user@test.example") == .ok())
        #expect(harness.transaction[note: .whitelistSender] == true)

        let listedHost = try PluginHarness("whitelist per_recipient 1", config: Self.config, remoteIP: "192.0.2.1")
        #expect(try await listedHost.connect() == .declined)
        #expect(try await listedHost.rcpt(to: "user@test.example") == .ok())
        #expect(listedHost.connection[note: .whitelistHost] == true)
    }

    @Test(arguments: ["whitelist per_recipient maybe", "whitelist merge", "whitelist colour blue"])
    func badArgumentsAreRefused(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}
