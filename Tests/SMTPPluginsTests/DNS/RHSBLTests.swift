import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct RHSBLTests {
    private func rhsbl(_ arguments: String = "", zones: [String] = ["rhs.example"], dns: any DNSResolver) throws -> PluginHarness {
        try PluginHarness("rhsbl " + arguments, config: ["rhsbl_zones": zones], services: DNSTest.services(dns))
    }

    private func listed(_ text: String = "sends spam") -> StubDNSResolver {
        let dns = StubDNSResolver()
        dns.set("spam.example.rhs.example", .txt, [.txt(text)])
        return dns
    }

    @Test func passesAnUnlistedSenderDomain() async throws {
        let dns = StubDNSResolver()
        let harness = try rhsbl(zones: ["rhs.example", "other.example"], dns: dns)
        #expect(try await harness.mail(from: "someone@Good.Example") == .declined)
        #expect(Set(DNSTest.asked(dns)) == ["good.example.rhs.example", "good.example.other.example"])
        #expect(dns.queries.allSatisfy { $0.type == .txt })
    }

    @Test func refusesAListedDomainAtMailWithTheTXTText() async throws {
        let harness = try rhsbl(dns: listed())
        #expect(try await harness.mail(from: "bob@spam.example") == .deny("Mail from spam.example rejected because it sends spam"))
        #expect(harness.connection[note: .karma] == -1)
    }

    @Test func aZoneWithATextIsAskedForARecords() async throws {
        let dns = StubDNSResolver()
        dns.set("spam.example.dsn.example", .a, [.a("127.0.0.2")])
        let harness = try rhsbl(zones: ["dsn.example does not accept bounces"], dns: dns)
        #expect(try await harness.mail(from: "bob@spam.example") == .deny("Mail from spam.example rejected because it does not accept bounces"))
        #expect(dns.queries.map(\.type) == [.a])
    }

    @Test func anEmptyTXTRecordNamesTheZone() async throws {
        #expect(try await rhsbl(dns: listed("")).mail(from: "bob@spam.example") == .deny("Mail from spam.example rejected because it is listed by rhs.example"))
    }

    @Test(arguments: [
        ("disconnect", HookResult.denyDisconnect("Mail from spam.example rejected because it sends spam")),
        ("reject_type temp", .denySoft("Mail from spam.example rejected because it sends spam")),
        ("reject_type disconnect", .denyDisconnect("Mail from spam.example rejected because it sends spam")),
        ("reject 0", .declined),
    ])
    func rejectTypes(arguments: String, expected: HookResult) async throws {
        #expect(try await rhsbl(arguments, dns: listed()).mail(from: "bob@spam.example") == expected)
    }

    @Test func rejectNaughtyStoresTheRefusal() async throws {
        let harness = try rhsbl("reject naughty", dns: listed())
        #expect(try await harness.mail(from: "bob@spam.example") == .declined)
        #expect(harness.connection[note: .naughty] == "Mail from spam.example rejected because it sends spam")
    }

    @Test func skipsTheNullSenderAddressLiteralsAndImmuneClients() async throws {
        let dns = listed()
        let harness = try rhsbl(dns: dns)
        #expect(try await harness.mail(from: "<>") == .declined)
        #expect(try await harness.mail(from: "bob@[192.0.2.1]") == .declined)
        harness.connection[note: .whitelistHost] = true
        #expect(try await harness.mail(from: "bob@spam.example") == .declined)
        #expect(dns.queries.isEmpty)
    }

    @Test func failedLookupsAreToleratedByDefaultAndDeferredWhenAsked() async throws {
        let dns = StubDNSResolver()
        dns.fail("slow.example.rhs.example", .txt, with: .timeout)
        #expect(try await rhsbl(dns: dns).mail(from: "a@slow.example") == .declined)
        #expect(
            try await rhsbl("dns_failure defer", dns: dns).mail(from: "a@slow.example")
                == .denySoft("4.4.3 Could not check slow.example against DNS blocklists, try again later"))
    }

    @Test func aListingWinsOverAnotherZonesFailure() async throws {
        let dns = listed()
        dns.fail("spam.example.broken.example", .txt, with: .serverFailure("SERVFAIL"))
        let harness = try rhsbl("dns_failure defer", zones: ["broken.example", "rhs.example"], dns: dns)
        #expect(try await harness.mail(from: "bob@spam.example") == .deny("Mail from spam.example rejected because it sends spam"))
    }

    @Test(arguments: ["sometimes", "reject maybe", "helo 1", "dns_failure never", "reject_type"])
    func refusesBadArguments(arguments: String) {
        #expect(throws: PluginHarness.LoadError.self) { try rhsbl(arguments, dns: StubDNSResolver()) }
    }

    @Test func loadsAsAsyncRhsbl() async throws {
        let harness = try PluginHarness("async/rhsbl", config: ["rhsbl_zones": ["rhs.example"]], services: DNSTest.services(listed()))
        #expect(try await harness.mail(from: "bob@spam.example") == .deny("Mail from spam.example rejected because it sends spam"))
    }
}
