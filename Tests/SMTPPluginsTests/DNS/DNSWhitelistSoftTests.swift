import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct DNSWhitelistSoftTests {
    static let listedName = "10.2.0.192.wl.example"

    private func whitelist(_ arguments: String = "", zones: [String] = ["wl.example"], dns: any DNSResolver) throws -> PluginHarness {
        try PluginHarness("dns_whitelist_soft " + arguments, config: ["whitelist_zones": zones], services: DNSTest.services(dns), remoteIP: "192.0.2.10")
    }

    /// Connect starts the lookups and returns at once; the first RCPT waits and sets the note.
    @Test func aListedClientIsWhitelistedAtTheFirstRcpt() async throws {
        let dns = GatedDNSResolver()
        dns.answers.set(Self.listedName, .txt, [.txt("trusted partner")])
        let harness = try whitelist(zones: ["wl.example some comment"], dns: dns)
        #expect(try await harness.connect() == .declined)
        #expect(try await DNSTest.eventually { dns.names == [Self.listedName] })
        #expect(harness.connection[note: .whitelistHost] == nil)
        dns.open()
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
        #expect(harness.connection[note: .whitelistHost] == true)
        #expect(DNSWhitelistSoft.lookups.isStarted(on: harness.connection) == false)
    }

    @Test func anUnlistedClientIsNot() async throws {
        let dns = StubDNSResolver()
        let harness = try whitelist(zones: ["wl.example", "wl2.example"], dns: dns)
        try await harness.connect()
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
        #expect(harness.connection[note: .whitelistHost] == nil)
        #expect(Set(DNSTest.asked(dns)) == [Self.listedName, "10.2.0.192.wl2.example"])
        #expect(dns.queries.allSatisfy { $0.type == .txt })
    }

    @Test func onlyTXTRecordsCount() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .a, [.a("127.0.0.2")])
        let harness = try whitelist(dns: dns)
        try await harness.connect()
        try await harness.rcpt(to: "user@example.org")
        #expect(harness.connection[note: .whitelistHost] == nil)
    }

    @Test func theWhitelistMakesTheClientImmuneForOtherPlugins() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .txt, [.txt("ok")])
        dns.set("spam.example.rhs.example", .txt, [.txt("sends spam")])
        let harness = try PluginHarness(
            "dns_whitelist_soft", "rhsbl",
            config: ["whitelist_zones": ["wl.example"], "rhsbl_zones": ["rhs.example"]],
            services: DNSTest.services(dns), remoteIP: "192.0.2.10")
        try await harness.connect()
        #expect(try await harness.mail(from: "bob@spam.example") == .deny("Mail from spam.example rejected because it sends spam"))
        try await harness.rcpt(to: "user@example.org")
        // As in qpsmtpd, the note exists from the first RCPT on: the next transaction is spared.
        #expect(try await harness.mail(from: "bob@spam.example") == .declined)
    }

    /// dnsbl refuses at connect; it waits for a whitelist asked at the same time before doing so.
    @Test func dnsblHonoursTheWhitelistAtConnect() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .txt, [.txt("ok")])
        dns.set("10.2.0.192.bl.example", .txt, [.txt("Listed")])
        let config = ["whitelist_zones": ["wl.example"], "dnsbl_zones": ["bl.example"]]
        let both = try PluginHarness("dns_whitelist_soft", "dnsbl", config: config, services: DNSTest.services(dns), remoteIP: "192.0.2.10")
        #expect(try await both.connect() == .declined)
        #expect(both.connection[note: .whitelistHost] == true)
        let alone = try PluginHarness("dnsbl", config: config, services: DNSTest.services(dns), remoteIP: "192.0.2.10")
        #expect(try await alone.connect() == .deny("Listed"))
    }

    @Test func relayClientsAreNotLookedUp() async throws {
        let dns = StubDNSResolver()
        let harness = try whitelist(dns: dns)
        harness.connection.isRelayClient = true
        try await harness.connect()
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
        #expect(dns.queries.isEmpty)
    }

    // MARK: DNS failure

    @Test func failedLookupsMeanNotWhitelistedUnlessDeferred() async throws {
        let dns = StubDNSResolver()
        dns.fail(Self.listedName, .txt, with: .serverFailure("SERVFAIL"))
        let tolerant = try whitelist(dns: dns)
        try await tolerant.connect()
        #expect(try await tolerant.rcpt(to: "user@example.org") == .declined)
        #expect(tolerant.connection[note: .whitelistHost] == nil)
        let deferring = try whitelist("dns_failure defer", dns: dns)
        try await deferring.connect()
        #expect(try await deferring.rcpt(to: "user@example.org") == .denySoft(DNSWhitelistSoft.failureMessage))
    }

    /// No answer: RCPT waits until its deadline (here `timeout 0.3`, below the 4 s cap), once.
    @Test func rcptWaitsOnlyUntilItsDeadline() async throws {
        let dns = GatedDNSResolver()
        let harness = try whitelist("timeout 0.3 dns_failure defer", dns: dns)
        try await harness.connect()
        let start = ContinuousClock.now
        #expect(try await harness.rcpt(to: "user@example.org") == .denySoft(DNSWhitelistSoft.failureMessage))
        #expect(ContinuousClock.now - start < .seconds(3))
        // Decided: the next recipient neither waits nor refuses.
        #expect(try await harness.rcpt(to: "other@example.org") == .declined)
    }

    @Test func disconnectCancelsLookupsInFlight() async throws {
        let dns = GatedDNSResolver()
        let harness = try whitelist(zones: ["wl.example", "wl2.example"], dns: dns)
        try await harness.connect()
        #expect(try await DNSTest.eventually { dns.names.count == 2 })
        try await harness.run(.disconnect)
        #expect(try await DNSTest.eventually { dns.cancellations == 2 })
    }

    @Test(arguments: ["disconnect", "reject maybe", "zones wl.example", "dns_failure later"])
    func refusesBadArguments(arguments: String) {
        #expect(throws: PluginHarness.LoadError.self) { try whitelist(arguments, dns: StubDNSResolver()) }
    }

    @Test func loadsAsAsyncDnsWhitelistSoft() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .txt, [.txt("ok")])
        let harness = try PluginHarness("async/dns_whitelist_soft", config: ["whitelist_zones": ["wl.example"]], services: DNSTest.services(dns), remoteIP: "192.0.2.10")
        try await harness.connect()
        try await harness.rcpt(to: "user@example.org")
        #expect(harness.connection[note: .whitelistHost] == true)
    }
}
