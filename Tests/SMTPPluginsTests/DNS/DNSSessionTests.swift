import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// The DNS plugins in a whole session with a stub resolver, so the replies are checked as the
/// client reads them: the engine turns each plugin's answer into the reply. Sessions connect from
/// 127.0.0.1.
@Suite struct DNSSessionTests {
    /// qpsmtpd forces helo's refusals to disconnect: 550 and the connection closes.
    @Test(arguments: SMTPTestSetup.allCases)
    func heloRefusalClosesTheConnection(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: ["plugins": ["helo"], "badhelo": ["yahoo.com"]]) { client in
            try await client.greeting()
            let reply = try await client.command("EHLO yahoo.com").expect(550, "5.7.1")
            #expect(reply.text == "5.7.1 I do not believe you are yahoo.com.")
            #expect(try await client.isClosed())
        }
    }

    @Test func heloAddsXHelo() async throws {
        let queue = CapturedMail()
        let config = ["plugins": ["helo", "rcpt_ok", queue.pluginLine], "rcpthosts": ["test.example"]]
        try await SMTPTestClient.with(.session, config: config) { client in
            try await client.greeting()
            try await client.ehlo("client.example.org")
            try await client.mail(from: "a@client.example.org").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            try await client.data("Subject: x\n\nhi\n").expect(250)
        }
        #expect(queue.messages.first?.header.value(of: "X-HELO") == "client.example.org")
    }

    @Test func heloStrictDNSFailureDeferred() async throws {
        let stub = StubDNSResolver()
        stub.fail("1.0.0.127.in-addr.arpa", .ptr, with: .timeout)
        stub.set("mail.example.org", .a, [.a("127.0.0.1")])
        try await SMTPTestClient.with(.session, config: ["plugins": ["helo policy strict dns_failure defer"]], dns: stub) { client in
            try await client.greeting()
            let reply = try await client.command("HELO mail.example.org").expect(421)
            #expect(reply.text == "4.7.1 error getting reverse DNS for 127.0.0.1")
            #expect(try await client.isClosed())
        }
    }

    /// The iprev result reaches the message's Authentication-Results header.
    @Test func fcrdnsResultInAuthenticationResults() async throws {
        let stub = StubDNSResolver()
        stub.set("1.0.0.127.in-addr.arpa", .ptr, [.ptr("client.test.example")])
        stub.set("client.test.example", .a, [.a("127.0.0.1")])
        let queue = CapturedMail()
        let config = ["plugins": ["fcrdns", "rcpt_ok", queue.pluginLine], "rcpthosts": ["test.example"]]
        try await SMTPTestClient.with(.session, config: config, dns: stub) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@client.test.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            try await client.data("Subject: x\n\nhi\n").expect(250)
        }
        let results = try #require(queue.messages.first?.header.value(of: "Authentication-Results"))
        #expect(results == "mx.test.example; iprev=pass policy.iprev=127.0.0.1")
    }

    /// With `reject 1` (temp, as qpsmtpd forces) a failed check at connect is a 421 and a close.
    @Test(arguments: SMTPTestSetup.allCases)
    func fcrdnsRejectAtConnect(setup: SMTPTestSetup) async throws {
        let stub = StubDNSResolver()
        stub.fail("1.0.0.127.in-addr.arpa", .ptr, with: .nxdomain("1.0.0.127.in-addr.arpa"))
        try await SMTPTestClient.with(setup, config: ["plugins": ["fcrdns reject 1"]], dns: stub) { client in
            let reply = try await client.reply().expect(421, "4.7.25")
            #expect(reply.text == "4.7.25 Reverse DNS validation failed for 127.0.0.1")
            #expect(try await client.isClosed())
        }
    }

    @Test(arguments: [("deny", 554, "5.7.1"), ("denysoft", 451, "4.7.1")])
    func uriblRefusalAfterData(action: String, code: Int, enhanced: String) async throws {
        let stub = StubDNSResolver()
        stub.set("evil.example.uribl.test", .a, [.a("127.0.0.2")])
        stub.set("evil.example.uribl.test", .txt, [.txt("listed for spam")])
        let queue = CapturedMail()
        let config = [
            "plugins": ["uribl action \(action)", "rcpt_ok", queue.pluginLine], "rcpthosts": ["test.example"],
            "uribl_zones": ["uribl.test"],
        ]
        try await SMTPTestClient.with(.session, config: config, dns: stub) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@b.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            let reply = try await client.data("Subject: x\n\nvisit http://www.evil.example/now\n").expect(code, enhanced)
            #expect(reply.text == "\(enhanced) evil.example in uribl.test: listed for spam")
        }
        #expect(queue.messages.isEmpty)
    }

    /// Each helo refusal as the client reads it: 550, the enhanced code the engine adds, the
    /// text, and the connection closed. DNS: 127.0.0.1 is client.test.example both ways.
    @Test(arguments: [
        ("lenient", "[192.0.2.99]", "5.7.1 Forged IPs not accepted here"),
        ("lenient", "127.0.0.1", "5.7.1 Plain IP is invalid HELO hostname (RFC 2821)"),
        ("rfc", "client", "5.7.1 HELO name is not fully qualified. Read RFC 2821"),
        ("rfc", "bad_name.example", "5.7.1 HELO name contains invalid FQDN characters. Read RFC 1035"),
        ("rfc", "nowhere.test.example", "5.7.1 HELO hostname does not exist"),
        ("rfc", "noaddress.test.example", "5.7.1 HELO hostname did not resolve"),
        ("strict", "[127.0.0.1]", "5.7.1 RFC 2821 allows an address literal, but we do not"),
        ("strict", "elsewhere.example.net", "5.7.1 That HELO hostname fails FCrDNS"),
    ])
    func heloRefusalsOnTheWire(policy: String, host: String, text: String) async throws {
        let stub = StubDNSResolver()
        stub.set("1.0.0.127.in-addr.arpa", .ptr, [.ptr("client.test.example")])
        stub.set("client.test.example", .a, [.a("127.0.0.1")])
        stub.set("noaddress.test.example", .txt, [.txt("no address here")])
        stub.set("elsewhere.example.net", .a, [.a("198.51.100.7")])
        let config = ["plugins": ["helo policy \(policy)"]]
        try await SMTPTestClient.with(.session, config: config, dns: stub) { client in
            try await client.greeting()
            let reply = try await client.command("HELO \(host)").expect(550)
            #expect(reply.text == text)
            #expect(try await client.isClosed())
        }
    }

    @Test func heloStrictAcceptsAMatchingName() async throws {
        let stub = StubDNSResolver()
        stub.set("1.0.0.127.in-addr.arpa", .ptr, [.ptr("client.test.example")])
        stub.set("client.test.example", .a, [.a("127.0.0.1")])
        try await SMTPTestClient.with(.session, config: ["plugins": ["helo policy strict"]], dns: stub) { client in
            try await client.greeting()
            try await client.command("EHLO client.test.example").expect(250)
        }
    }

    @Test func uriblHeaderInTheQueuedMessage() async throws {
        let stub = StubDNSResolver()
        stub.set("evil.example.uribl.test", .a, [.a("127.0.0.2")])
        let queue = CapturedMail()
        let config = [
            "plugins": ["uribl", "rcpt_ok", queue.pluginLine], "rcpthosts": ["test.example"], "uribl_zones": ["uribl.test"],
        ]
        try await SMTPTestClient.with(.session, config: config, dns: stub) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@b.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            try await client.data("Subject: x\n\nvisit http://evil.example/now\n").expect(250)
        }
        #expect(queue.messages.first?.header.value(of: "X-URIBL-Match") == "evil.example in uribl.test: 127.0.0.2")
    }
}
