import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct ParseAddrWithHeloTests {
    static let size = [ESMTPParameter(keyword: "SIZE", value: "100")]

    @Test func parametersAfterHeloAreRefused() async throws {
        let harness = try PluginHarness("parse_addr_withhelo")
        harness.connection.hello = .helo
        #expect(try await harness.mail(from: "a@example.com") == .declined)
        #expect(try await harness.mail(from: "a@example.com", parameters: Self.size) == .done(SMTPReply(501, .invalidArguments, "No parameters allowed in MAIL")))
        #expect(try await harness.rcpt(to: "b@example.com", parameters: Self.size) == .done(SMTPReply(501, .invalidArguments, "No parameters allowed in RCPT")))
    }

    @Test func parametersAfterEhloAreLeftAlone() async throws {
        let harness = try PluginHarness("parse_addr_withhelo")
        harness.connection.hello = .ehlo
        #expect(try await harness.mail(from: "a@example.com", parameters: Self.size) == .declined)
    }

    @Test func takesNoArguments() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("parse_addr_withhelo strict") }
    }
}

@Suite struct CheckSpamHeloTests {
    static let badhelo = ["aol.com", "Yahoo.COM", "^[0-9.]+\\.dyn\\.example$"]

    @Test(arguments: [
        ("AOL.com", HookResult.denyDisconnect("Sorry, I don't believe that you are aol.com.")),
        ("yahoo.com", .denyDisconnect("Sorry, I don't believe that you are yahoo.com.")),
        ("10.1.2.3.dyn.example", .denyDisconnect("Sorry, I don't believe that you are 10.1.2.3.dyn.example.")),
        ("mail.example.org", .declined),
        // Unlike `helo`, nothing but badhelo: a plain address is not refused here.
        ("192.0.2.10", .declined),
    ])
    func names(host: String, expected: HookResult) async throws {
        let harness = try PluginHarness("check_spamhelo", config: ["badhelo": Self.badhelo])
        #expect(try await harness.helo(host) == expected)
        #expect(try await harness.ehlo(host) == expected)
    }

    @Test func argumentsAndImmunity() async throws {
        let tolerant = try PluginHarness("check_spamhelo reject 0", config: ["badhelo": Self.badhelo])
        #expect(try await tolerant.helo("aol.com") == .declined)
        let soft = try PluginHarness("check_spamhelo reject_type temp", config: ["badhelo": Self.badhelo])
        #expect(try await soft.helo("aol.com") == .denySoft("Sorry, I don't believe that you are aol.com."))
        let relay = try PluginHarness("check_spamhelo", config: ["badhelo": Self.badhelo])
        relay.connection.isRelayClient = true
        #expect(try await relay.helo("aol.com") == .declined)
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("check_spamhelo policy strict") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("check_spamhelo", config: ["badhelo": ["(broken"]]) }
    }
}
