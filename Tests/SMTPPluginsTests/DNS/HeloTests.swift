import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct HeloTests {
    /// DNS where mail.example.org is 192.0.2.10 both ways.
    private func matchingDNS() -> StubDNSResolver {
        let dns = StubDNSResolver()
        dns.set("mail.example.org", .a, [.a("192.0.2.10")])
        dns.set("10.2.0.192.in-addr.arpa", .ptr, [.ptr("mail.example.org")])
        return dns
    }

    private func harness(
        _ line: String = "helo", dns: any DNSResolver = StubDNSResolver(), badhelo: [String] = [], remoteIP: String = "192.0.2.10"
    ) throws -> PluginHarness {
        try PluginHarness(line, config: ["badhelo": badhelo], services: stubServices(dns), remoteIP: remoteIP)
    }

    // MARK: lenient

    @Test func lenientAcceptsAnyPlausibleNameWithoutDNS() async throws {
        let dns = StubDNSResolver()
        let plugin = try harness(dns: dns)
        #expect(try await plugin.helo("mail.example.org") == .declined)
        #expect(try await plugin.ehlo("unqualified") == .declined)
        #expect(dns.queries.isEmpty)
    }

    @Test func badheloNamesAreComparedWithoutCase() async throws {
        let plugin = try harness(badhelo: ["yahoo.com", "# a comment", "AOL.com"])
        #expect(try await plugin.helo("YAHOO.com") == .denyDisconnect("I do not believe you are YAHOO.com."))
        #expect(try await plugin.ehlo("aol.com") == .denyDisconnect("I do not believe you are aol.com."))
        #expect(try await plugin.helo("mail.yahoo.com") == .declined)
        #expect(plugin.connection[note: .karma] == -2)
    }

    @Test func badheloPatterns() async throws {
        let plugin = try harness(badhelo: ["ya.oo\\.com$", "^[0-9.]+\\.dyn\\."])
        #expect(try await plugin.helo("yahoo.com") == .denyDisconnect("I do not believe you are yahoo.com."))
        #expect(try await plugin.helo("1.2.3.dyn.example.net") == .denyDisconnect("I do not believe you are 1.2.3.dyn.example.net."))
        #expect(try await plugin.helo("yoda.com") == .declined)
    }

    /// A leading `!` negates: the name must match the pattern or it is refused.
    @Test func negatedBadheloPatterns() async throws {
        let plugin = try harness(badhelo: ["!\\."])
        #expect(try await plugin.helo("host-only") == .denyDisconnect("I do not believe you are host-only."))
        #expect(try await plugin.helo("host.example") == .declined)
    }

    @Test func anInvalidPatternStopsTheLoad() {
        #expect(throws: PluginHarness.LoadError.self) { try harness(badhelo: ["(unclosed"]) }
    }

    @Test func localhostOnlyFromLoopback() async throws {
        #expect(try await harness().helo("localhost") == .denyDisconnect("You are not localhost"))
        #expect(try await harness().helo("LOCALHOST") == .denyDisconnect("You are not localhost"))
        #expect(try await harness(remoteIP: "127.0.0.1").helo("localhost") == .declined)
        #expect(try await harness(remoteIP: "::1").helo("localhost") == .declined)
    }

    @Test func addressLiteralsMustBeTheClients() async throws {
        #expect(try await harness().helo("[192.0.2.99]") == .denyDisconnect("Forged IPs not accepted here"))
        #expect(try await harness().helo("[192.0.2.10]") == .declined)
        #expect(try await harness(remoteIP: "2001:db8::1").helo("[IPv6:2001:db8::1]") == .declined)
        #expect(try await harness(remoteIP: "2001:db8::1").helo("[IPv6:2001:db8::2]") == .denyDisconnect("Forged IPs not accepted here"))
    }

    @Test(arguments: ["192.0.2.10", "10.0.0.1", "2001:db8::1"])
    func plainAddressesAreRefused(host: String) async throws {
        #expect(try await harness().helo(host) == .denyDisconnect("Plain IP is invalid HELO hostname (RFC 2821)"))
    }

    // MARK: rfc

    @Test func rfcWantsAFullyQualifiedName() async throws {
        let plugin = try harness("helo policy rfc", dns: matchingDNS())
        #expect(try await plugin.helo("mail") == .denyDisconnect("HELO name is not fully qualified. Read RFC 2821"))
        #expect(try await plugin.helo("mail_1.example.org") == .denyDisconnect("HELO name contains invalid FQDN characters. Read RFC 1035"))
        #expect(try await plugin.helo("mail.example.org") == .declined)
        #expect(plugin.connection[note: .heloForwardMatch] == true)
        #expect(plugin.connection[note: .heloReverseMatch] == true)
    }

    @Test func rfcWantsForwardDNS() async throws {
        let dns = matchingDNS()
        dns.set("text-only.example.org", .txt, [.txt("v=spf1 -all")])
        let plugin = try harness("helo policy rfc", dns: dns)
        #expect(try await plugin.helo("nowhere.example.org") == .denyDisconnect("HELO hostname does not exist"))
        #expect(try await plugin.helo("text-only.example.org") == .denyDisconnect("HELO hostname did not resolve"))
    }

    /// rfc does not need the name to match the client: another host's name with DNS passes.
    @Test func rfcAcceptsANameThatDoesNotMatch() async throws {
        let dns = matchingDNS()
        dns.set("other.example.net", .aaaa, [.aaaa("2001:db8::9")])
        let plugin = try harness("helo policy rfc", dns: dns)
        #expect(try await plugin.helo("other.example.net") == .declined)
        #expect(plugin.connection[note: .heloForwardMatch] == false)
        #expect(plugin.connection[note: .heloReverseMatch] == false)
    }

    @Test func rfcWantsReverseDNS() async throws {
        let dns = StubDNSResolver()
        dns.set("mail.example.org", .a, [.a("192.0.2.10")])
        #expect(try await harness("helo policy rfc", dns: dns).helo("mail.example.org") == .denyDisconnect("no rDNS for 192.0.2.10"))
        dns.set("10.2.0.192.in-addr.arpa", .txt, [])
        #expect(try await harness("helo policy rfc", dns: dns).helo("mail.example.org") == .denyDisconnect("no reverse DNS for 192.0.2.10"))
    }

    /// qpsmtpd's own choice on DNS failure: a failed forward lookup is skipped, a failed reverse
    /// lookup refuses.
    @Test func dnsFailureByDefault() async throws {
        let forwardFails = matchingDNS()
        forwardFails.fail("mail.example.org", .a, with: .timeout)
        forwardFails.fail("mail.example.org", .aaaa, with: .timeout)
        #expect(try await harness("helo policy rfc", dns: forwardFails).helo("mail.example.org") == .declined)

        let reverseFails = matchingDNS()
        reverseFails.fail("10.2.0.192.in-addr.arpa", .ptr, with: .serverFailure("SERVFAIL"))
        // qpsmtpd refuses with 550 here; a fault of our resolver must not bounce mail: 421.
        #expect(try await harness("helo policy rfc", dns: reverseFails).helo("mail.example.org") == .denySoftDisconnect("error getting reverse DNS for 192.0.2.10"))
    }

    @Test func dnsFailureTolerated() async throws {
        let dns = matchingDNS()
        dns.fail("10.2.0.192.in-addr.arpa", .ptr, with: .timeout)
        dns.fail("mail.example.org", .a, with: .timeout)
        dns.fail("mail.example.org", .aaaa, with: .timeout)
        #expect(try await harness("helo policy rfc dns_failure tolerate", dns: dns).helo("mail.example.org") == .declined)
    }

    @Test func dnsFailureDeferred() async throws {
        let forwardFails = matchingDNS()
        forwardFails.fail("mail.example.org", .a, with: .timeout)
        #expect(
            try await harness("helo policy rfc dns_failure defer", dns: forwardFails).helo("mail.example.org")
                == .denySoftDisconnect("4.4.3 Cannot look up HELO hostname mail.example.org now; try again later"))

        let reverseFails = matchingDNS()
        reverseFails.fail("10.2.0.192.in-addr.arpa", .ptr, with: .timeout)
        #expect(
            try await harness("helo policy rfc dns_failure defer", dns: reverseFails).helo("mail.example.org")
                == .denySoftDisconnect("error getting reverse DNS for 192.0.2.10"))
    }

    /// An address (AAAA) of the name is enough, and NXDOMAIN for one type with data for the other
    /// still resolves.
    @Test func eitherAddressTypeResolves() async throws {
        let dns = StubDNSResolver()
        dns.set("v6.example.org", .aaaa, [.aaaa("2001:db8::10")])
        dns.set("10.2.0.192.in-addr.arpa", .ptr, [.ptr("mail.example.org")])
        #expect(try await harness("helo policy rfc", dns: dns).helo("v6.example.org") == .declined)
    }

    // MARK: strict

    @Test func strictRefusesLiterals() async throws {
        let plugin = try harness("helo policy strict", dns: matchingDNS())
        #expect(try await plugin.helo("[192.0.2.10]") == .denyDisconnect("RFC 2821 allows an address literal, but we do not"))
    }

    @Test func strictWantsMatchingDNS() async throws {
        let dns = matchingDNS()
        dns.set("elsewhere.example.net", .a, [.a("198.51.100.7")])
        let plugin = try harness("helo policy strict", dns: dns)
        #expect(try await plugin.helo("elsewhere.example.net") == .denyDisconnect("That HELO hostname fails FCrDNS"))
        #expect(try await plugin.helo("mail.example.org") == .declined)
        // Both directions matched: a point of karma back after the failure's point.
        #expect(plugin.connection[note: .karma] == 0)
    }

    /// Either direction is enough: the name's network (a /24), or a PTR name in the same domain.
    @Test func strictAcceptsOneDirection() async throws {
        let dns = matchingDNS()
        dns.set("pool.example.net", .a, [.a("192.0.2.200")])
        dns.set("mx2.example.org", .a, [.a("198.51.100.7")])
        let plugin = try harness("helo policy strict", dns: dns)
        #expect(try await plugin.helo("pool.example.net") == .declined)
        #expect(plugin.connection[note: .heloForwardMatch] == true)
        #expect(try await plugin.helo("mx2.example.org") == .declined)
        #expect(plugin.connection[note: .heloReverseMatch] == true)
        #expect(plugin.connection[note: .heloForwardMatch] == false)
    }

    @Test func forwardAndReverseLookupsRunTogetherWithinDNSTimeout() async throws {
        let slow = SlowResolver(matchingDNS(), delay: .seconds(1))
        let plugin = try harness("helo policy strict", dns: slow)
        let started = ContinuousClock.now
        #expect(try await plugin.helo("mail.example.org") == .declined)
        // A, AAAA and PTR side by side: one delay, not three.
        #expect(ContinuousClock.now - started < .milliseconds(2500))
        #expect(slow.mostAtOnce == 3)
        // dns_timeout's default (5 s) and the hook's deadline (the harness's 5 s) agree here; the
        // lookups end 0.1 s before the hook's deadline, so the plugin can still answer.
        let finished = ContinuousClock.now
        #expect(slow.deadlines.allSatisfy { $0 >= started + .milliseconds(4900) && $0 <= finished + .milliseconds(4900) })

        let stuck = SlowResolver(matchingDNS(), delay: .seconds(30))
        let bounded = try harness("helo policy rfc dns_timeout 0.3", dns: stuck)
        let before = ContinuousClock.now
        // Every lookup times out: forward is skipped, reverse refuses as qpsmtpd does, but with 421.
        #expect(try await bounded.helo("mail.example.org") == .denySoftDisconnect("error getting reverse DNS for 192.0.2.10"))
        #expect(ContinuousClock.now - before < .seconds(3))
        #expect(stuck.deadlines.allSatisfy { $0 <= before + .milliseconds(400) })
    }

    // MARK: reject, immunity, header

    @Test func rejectZeroAndNaughty() async throws {
        let tolerant = try harness("helo reject 0", badhelo: ["yahoo.com"])
        #expect(try await tolerant.helo("yahoo.com") == .declined)
        #expect(tolerant.connection[note: .karma] == -1)

        let naughty = try harness("helo reject naughty", badhelo: ["yahoo.com"])
        #expect(try await naughty.helo("yahoo.com") == .declined)
        #expect(naughty.connection[note: .naughty] == "I do not believe you are yahoo.com.")
        #expect(naughty.connection[note: .naughtyRejectType] == "disconnect")
    }

    /// qpsmtpd forces reject_type to disconnect whatever the line says.
    @Test func rejectTypeIsAlwaysDisconnect() async throws {
        let plugin = try harness("helo reject_type temp", badhelo: ["yahoo.com"])
        #expect(try await plugin.helo("yahoo.com") == .denyDisconnect("I do not believe you are yahoo.com."))
    }

    @Test func immuneClientsAreNotChecked() async throws {
        let plugin = try harness(badhelo: ["yahoo.com"])
        plugin.connection.isRelayClient = true
        #expect(try await plugin.helo("yahoo.com") == .declined)
    }

    @Test func emptyNameCostsKarmaOnly() async throws {
        let plugin = try harness()
        #expect(try await plugin.helo("") == .declined)
        #expect(plugin.connection[note: .karma] == -2)
    }

    @Test func xHeloHeaderReplacesAnyTheClientSent() async throws {
        let plugin = try harness()
        plugin.connection.helloHost = "client.example.org"
        try plugin.setMessage("X-HELO: forged\r\nSubject: hi\r\n\r\nbody\r\n")
        #expect(try await plugin.dataPost() == .declined)
        #expect(plugin.transaction.header.all(named: "X-HELO").map(\.value) == ["client.example.org"])
    }

    @Test(arguments: ["helo policy paranoid", "helo dns_timeout 0", "helo dns_timeout x", "helo dns_failure maybe", "helo colour blue", "helo reject 3"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}
