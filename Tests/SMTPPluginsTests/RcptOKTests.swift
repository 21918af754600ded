import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct RcptOKTests {
    private let config = [
        "rcpthosts": ["example.org", ".sub.example.net", "EXAMPLE.COM"],
        "morercpthosts": ["more.example"],
    ]

    private func harness(config: [String: [String]]? = nil) throws -> PluginHarness {
        try PluginHarness("rcpt_ok", config: config ?? self.config)
    }

    /// RCPT with the mailbox split at its last `@` and not parsed: some cases here (`abuse`, a
    /// trailing dot) never get past a session's parser, and rcpt_ok must still judge them right.
    private func answer(_ recipient: String, config: [String: [String]]? = nil) async throws -> HookResult {
        try await harness(config: config).rcpt(Fixture.mailbox(recipient))
    }

    @Test(arguments: [
        "user@mx.test.example", "user@MX.Test.Example", "user@example.org", "user@example.com",
        "user@a.sub.example.net", "user@deep.a.sub.example.net", "user@more.example", "user@example.org.",
    ])
    func acceptsOurDomains(recipient: String) async throws {
        #expect(try await answer(recipient) == .ok())
    }

    @Test(arguments: ["user@sub.example.net", "user@elsewhere.example", "user@xexample.org", "user@more.example.net", "user@[192.0.2.1]"])
    func deniesOthers(recipient: String) async throws {
        #expect(try await answer(recipient) == .deny("5.7.1 Relaying denied"))
    }

    @Test func meFileCounts() async throws {
        #expect(try await answer("user@configured.example", config: ["me": ["configured.example"]]) == .ok())
    }

    @Test(arguments: ["postmaster", "abuse", "Postmaster"])
    func acceptsBareLocalParts(recipient: String) async throws {
        #expect(try await answer(recipient) == .ok())
    }

    @Test func immuneClientsMaySendAnywhere() async throws {
        let relay = try harness()
        relay.connection.isRelayClient = true
        #expect(try await relay.rcpt(to: "user@elsewhere.example") == .ok())

        let whitelisted = try harness()
        whitelisted.connection[note: .whitelistHost] = true
        #expect(try await whitelisted.rcpt(to: "user@elsewhere.example") == .ok())

        let sender = try harness()
        try await sender.mail(from: "friend@example.org")
        sender.transaction[note: .whitelistSender] = true
        #expect(try await sender.rcpt(to: "user@elsewhere.example") == .ok())
    }

    /// The same plugin in a whole session: refused and accepted recipients, as a client sees them.
    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: config.merging(["plugins": ["rcpt_ok"]]) { $1 }) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "user@elsewhere.example").expect(550, "5.7.1")
            try await client.rcpt(to: "user@a.sub.example.net").expect(250)
        }
    }
}
