import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct ResolvableFromHostTests {
    static let fqdnRequired = "5.1.8 FQDN required in the envelope sender"
    static let temporaryFailure = "4.4.3 Temporary address resolution failure"

    private func plugin(_ arguments: String = "", config: [String: [String]] = [:], dns: any DNSResolver) throws -> PluginHarness {
        try PluginHarness("resolvable_fromhost " + arguments, config: config, services: DNSTest.services(dns))
    }

    /// The result and the transaction note for MAIL from `sender`.
    private func check(_ sender: String, _ arguments: String = "", config: [String: [String]] = [:], dns: any DNSResolver) async throws -> (HookResult, String?) {
        let harness = try plugin(arguments, config: config, dns: dns)
        let result = try await harness.mail(from: sender)
        return (result, harness.transaction[note: ResolvableFromHost.result])
    }

    // MARK: Resolvable

    @Test func anMXWithAUsableAddressPasses() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .mx, [.mx(preference: 10, exchange: "mx.example.org")])
        dns.set("mx.example.org", .a, [.a("198.51.100.25")])
        let harness = try plugin(dns: dns)
        #expect(try await harness.mail(from: "a@Example.Org") == .declined)
        #expect(harness.transaction[note: ResolvableFromHost.result] == "mx")
        #expect(harness.transaction[note: ResolvableFromHost.host] == "example.org")
    }

    @Test func oneUsableMXAmongUnusableOnesIsEnough() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .mx, [
            .mx(preference: 10, exchange: "loop.example.org"), .mx(preference: 20, exchange: "gone.example.org"),
            .mx(preference: 30, exchange: "v6.example.org"),
        ])
        dns.set("loop.example.org", .a, [.a("127.0.0.1")])
        dns.set("v6.example.org", .aaaa, [.aaaa("2001:db8::25")])
        #expect(try await check("a@example.org", dns: dns) == (.declined, "mx"))
    }

    @Test func anAddressWhereTheMXHostBelongsIsTakenAsOne() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .mx, [.mx(preference: 10, exchange: "198.51.100.25")])
        #expect(try await check("a@example.org", dns: dns) == (.declined, "mx"))
        dns.set("example.org", .mx, [.mx(preference: 10, exchange: "127.0.0.1")])
        #expect(try await check("a@example.org", dns: dns) == (.denySoft(Self.fqdnRequired), "invalid MX for example.org"))
    }

    @Test func withoutMXTheDomainsOwnAddressesCount() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .a, [.a("198.51.100.7")])
        #expect(try await check("a@example.org", dns: dns) == (.declined, "a"))
        let v6 = StubDNSResolver()
        v6.set("example.net", .aaaa, [.aaaa("2001:db8::7")])
        #expect(try await check("a@example.net", dns: v6) == (.declined, "a"))
    }

    @Test func addressLiteralsNeedNoLookup() async throws {
        let dns = StubDNSResolver()
        #expect(try await check("a@[192.0.2.1]", dns: dns) == (.declined, "ip"))
        #expect(dns.queries.isEmpty)
    }

    @Test func theNullSenderAndImmuneClientsAreSkipped() async throws {
        let dns = StubDNSResolver()
        #expect(try await check("<>", dns: dns) == (.declined, "null"))
        let harness = try plugin(dns: dns)
        harness.connection.isRelayClient = true
        #expect(try await harness.mail(from: "a@nowhere.example") == .declined)
        #expect(harness.transaction[note: ResolvableFromHost.result] == "whitelist")
        #expect(dns.queries.isEmpty)
    }

    // MARK: Not resolvable

    @Test func aDomainThatDoesNotExistIsDeferred() async throws {
        #expect(try await check("a@nowhere.example", dns: StubDNSResolver()) == (.denySoft(Self.fqdnRequired), "nowhere.example does not exist"))
    }

    @Test func aDomainWithNeitherMXNorAddressIsDeferred() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .txt, [.txt("v=spf1 -all")])
        #expect(try await check("a@example.org", dns: dns) == (.denySoft(Self.fqdnRequired), "example.org has no MX and no address"))
    }

    @Test func mxHostsWithOnlyInvalidOrNoAddressesAreNotUsable() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .mx, [.mx(preference: 0, exchange: "loop.example.org"), .mx(preference: 5, exchange: "gone.example.org")])
        dns.set("loop.example.org", .a, [.a("127.0.0.2")])
        dns.set("loop.example.org", .aaaa, [.aaaa("::1")])
        #expect(try await check("a@example.org", dns: dns) == (.denySoft(Self.fqdnRequired), "invalid MX for example.org"))
    }

    /// RFC 7505: one MX, preference 0, host "." — the domain takes no mail, so no reply can reach it.
    @Test func aNullMXIsNotResolvable() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .mx, [.mx(preference: 0, exchange: "")])
        dns.set("example.org", .a, [.a("198.51.100.7")])
        #expect(try await check("a@example.org", dns: dns) == (.denySoft(Self.fqdnRequired), "null MX for example.org"))
    }

    @Test(arguments: ["0.1.2.3", "127.0.0.1", "169.254.1.1", "224.0.0.5", "255.255.255.255", "::1", "fe80::1", "::ffff:127.0.0.1"])
    func defaultInvalidNetworks(address: String) async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", address.contains(":") ? .aaaa : .a, [address.contains(":") ? .aaaa(address) : .a(address)])
        let (result, note) = try await check("a@example.org", dns: dns)
        #expect(result == .denySoft(Self.fqdnRequired))
        #expect(note == "example.org has only invalid addresses: \(address)")
    }

    @Test func invalidResolvableFromhostReplacesTheDefaults() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .a, [.a("127.0.0.1")])
        dns.set("example.net", .a, [.a("10.9.9.9")])
        let config = ["invalid_resolvable_fromhost": ["10.0.0.0/8", "192.168."]]
        #expect(try await check("a@example.org", config: config, dns: dns) == (.declined, "a"))
        #expect(try await check("a@example.net", config: config, dns: dns).0 == .denySoft(Self.fqdnRequired))
    }

    @Test(arguments: [
        ("reject_type perm", HookResult.deny(ResolvableFromHostTests.fqdnRequired)),
        ("reject_type disconnect", .denyDisconnect(ResolvableFromHostTests.fqdnRequired)),
        ("reject 0", .declined),
    ])
    func rejectTypes(arguments: String, expected: HookResult) async throws {
        #expect(try await check("a@nowhere.example", arguments, dns: StubDNSResolver()).0 == expected)
    }

    @Test func rejectNaughtyStoresATemporaryRefusal() async throws {
        let harness = try plugin("reject naughty", dns: StubDNSResolver())
        #expect(try await harness.mail(from: "a@nowhere.example") == .declined)
        #expect(harness.connection[note: .naughty] == Self.fqdnRequired)
        #expect(harness.connection[note: .naughtyRejectType] == "temp")
    }

    // MARK: DNS failure

    @Test func failedLookupsAreDeferredByDefault() async throws {
        let dns = StubDNSResolver()
        dns.fail("example.org", .mx, with: .serverFailure("SERVFAIL"))
        dns.fail("example.org", .a, with: .serverFailure("SERVFAIL"))
        let (result, note) = try await check("a@example.org", dns: dns)
        #expect(result == .denySoft(Self.temporaryFailure))
        #expect(note?.hasPrefix("address lookup for example.org failed") == true)
        #expect(try await check("a@example.org", "dns_failure tolerate", dns: dns).0 == .declined)
        #expect(try await check("a@example.org", "reject_type perm", dns: dns).0 == .denySoft(Self.temporaryFailure))
        #expect(try await check("a@example.org", "reject 0", dns: dns).0 == .declined)
    }

    @Test func aFailedMXLookupWithAnswerableAddressesPasses() async throws {
        let dns = StubDNSResolver()
        dns.fail("example.org", .mx, with: .timeout)
        dns.set("example.org", .a, [.a("198.51.100.7")])
        #expect(try await check("a@example.org", dns: dns) == (.declined, "a"))
    }

    @Test func aFailedMXLookupAndNoAddressIsAFailureNotAnAnswer() async throws {
        let dns = StubDNSResolver()
        dns.fail("example.org", .mx, with: .timeout)
        dns.set("example.org", .txt, [])
        let (result, note) = try await check("a@example.org", dns: dns)
        #expect(result == .denySoft(Self.temporaryFailure))
        #expect(note?.hasPrefix("MX lookup for example.org failed") == true)
    }

    @Test func mxHostsThatCouldNotBeLookedUpAreAFailure() async throws {
        let dns = StubDNSResolver()
        dns.set("example.org", .mx, [.mx(preference: 10, exchange: "mx.example.org")])
        dns.fail("mx.example.org", .a, with: .timeout)
        #expect(try await check("a@example.org", dns: dns).0 == .denySoft(Self.temporaryFailure))
        #expect(try await check("a@example.org", "dns_failure tolerate", dns: dns).0 == .declined)
    }

    // MARK: Loading

    @Test(arguments: ["resolvable_fromhost", "require_resolvable_fromhost", "async/resolvable_fromhost"])
    func loadsUnderItsNames(name: String) async throws {
        let harness = try PluginHarness(name, services: DNSTest.services(StubDNSResolver()))
        #expect(try await harness.mail(from: "a@nowhere.example") == .denySoft(Self.fqdnRequired))
    }

    @Test(arguments: ["reject maybe", "reject_type never", "disconnect", "dns_failure never", "policy strict"])
    func refusesBadArguments(arguments: String) {
        #expect(throws: PluginHarness.LoadError.self) { try plugin(arguments, dns: StubDNSResolver()) }
    }
}
