import SMTPPluginAPI
import SMTPTesting
import Testing

/// The DNS plugins in a whole session, so the replies a client sees — code, enhanced code, text,
/// and whether the connection closes — are checked through the engine's reply mapping. Every
/// setup's client connects from 127.0.0.1, so the blocklist name is `1.0.0.127.<zone>`.
@Suite struct DNSPluginSessionTests {
    @Test(arguments: SMTPTestSetup.allCases)
    func dnsblRefusesAListedClientInsteadOfTheGreeting(setup: SMTPTestSetup) async throws {
        let dns = StubDNSResolver()
        dns.set("1.0.0.127.bl.example", .txt, [.txt("Listed: see https://bl.example/127.0.0.1")])
        let config = ["plugins": ["dnsbl", "rcpt_ok"], "dnsbl_zones": ["bl.example"]]
        try await SMTPTestClient.with(setup, config: config, dns: dns) { client in
            let reply = try await client.reply().expect(554, "5.7.1")
            #expect(reply.lines == ["5.7.1 Listed: see https://bl.example/127.0.0.1"])
            #expect(try await client.isClosed())
        }
    }

    @Test func dnsblRejectTypeTempSays421AndCloses() async throws {
        let dns = StubDNSResolver()
        dns.set("1.0.0.127.bl.example", .a, [.a("127.0.0.2")])
        let config = ["plugins": ["dnsbl reject_type temp", "rcpt_ok"], "dnsbl_zones": ["bl.example:Listed %IP%"]]
        try await SMTPTestClient.with(.session, config: config, dns: dns) { client in
            let reply = try await client.reply().expect(421, "4.7.1")
            #expect(reply.lines == ["4.7.1 Listed 127.0.0.1"])
            #expect(try await client.isClosed())
        }
    }

    @Test func dnsblLetsAnUnlistedClientIn() async throws {
        let config = ["plugins": ["dnsbl", "rcpt_ok"], "dnsbl_zones": ["bl.example"], "rcpthosts": ["example.org"]]
        try await SMTPTestClient.with(.session, config: config, dns: StubDNSResolver()) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@sender.example").expect(250)
            try await client.rcpt(to: "u@example.org").expect(250)
        }
    }

    @Test func rhsblRefusesAtMail() async throws {
        let dns = StubDNSResolver()
        dns.set("spam.example.rhs.example", .txt, [.txt("sends spam")])
        let config = ["plugins": ["rhsbl", "rcpt_ok"], "rhsbl_zones": ["rhs.example"]]
        try await SMTPTestClient.with(.session, config: config, dns: dns) { client in
            try await client.greeting()
            try await client.helo()
            let reply = try await client.mail(from: "bob@spam.example").expect(550, "5.7.1")
            #expect(reply.lines == ["5.7.1 Mail from spam.example rejected because it sends spam"])
            try await client.mail(from: "bob@good.example").expect(250)
        }
    }

    @Test func rhsblLegacyDisconnectCloses() async throws {
        let dns = StubDNSResolver()
        dns.set("spam.example.rhs.example", .txt, [.txt("sends spam")])
        let config = ["plugins": ["rhsbl disconnect", "rcpt_ok"], "rhsbl_zones": ["rhs.example"]]
        try await SMTPTestClient.with(.session, config: config, dns: dns) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "bob@spam.example").expect(550, "5.7.1")
            #expect(try await client.isClosed())
        }
    }

    @Test func resolvableFromhostDefersAnUnresolvableSender() async throws {
        let dns = StubDNSResolver()
        dns.set("good.example", .mx, [.mx(preference: 10, exchange: "mx.good.example")])
        dns.set("mx.good.example", .a, [.a("198.51.100.25")])
        dns.set("nullmx.example", .mx, [.mx(preference: 0, exchange: "")])
        dns.fail("broken.example", .mx, with: .serverFailure("SERVFAIL"))
        dns.fail("broken.example", .a, with: .serverFailure("SERVFAIL"))
        let config = ["plugins": ["resolvable_fromhost", "rcpt_ok"]]
        try await SMTPTestClient.with(.session, config: config, dns: dns) { client in
            try await client.greeting()
            try await client.helo()
            #expect(try await client.mail(from: "a@nowhere.example").expect(450, "4.1.8").lines == ["4.1.8 FQDN required in the envelope sender"])
            try await client.mail(from: "a@nullmx.example").expect(450, "4.1.8")
            #expect(try await client.mail(from: "a@broken.example").expect(450, "4.4.3").lines == ["4.4.3 Temporary address resolution failure"])
            try await client.mail(from: "a@good.example").expect(250)
            try await client.mail(from: "<>").expect(250)
        }
    }

    @Test func resolvableFromhostRejectTypePermSays550() async throws {
        let config = ["plugins": ["resolvable_fromhost reject_type perm", "rcpt_ok"]]
        try await SMTPTestClient.with(.session, config: config, dns: StubDNSResolver()) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@nowhere.example").expect(550, "5.1.8")
        }
    }

    /// A whitelisted client gets past a blocklist that lists it.
    @Test func dnsWhitelistSoftOverridesDnsbl() async throws {
        let dns = StubDNSResolver()
        dns.set("1.0.0.127.bl.example", .txt, [.txt("Listed")])
        dns.set("1.0.0.127.wl.example", .txt, [.txt("partner")])
        let config = [
            "plugins": ["dns_whitelist_soft", "dnsbl", "rcpt_ok"], "dnsbl_zones": ["bl.example"], "whitelist_zones": ["wl.example"],
            "rcpthosts": ["example.org"],
        ]
        try await SMTPTestClient.with(.session, config: config, dns: dns) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@sender.example").expect(250)
            try await client.rcpt(to: "u@example.org").expect(250)
        }
    }
}
