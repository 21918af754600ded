import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// `dnsbl` with its environment (RBLSMTPD) replaced by `environment`, loadable from a plugin line.
struct DNSBLWithEnvironment: SMTPPlugin {
    @TaskLocal static var environment: [String: String] = [:]
    let plugin: DNSBL

    init(context: PluginContext) throws {
        let environment = Self.environment
        plugin = try DNSBL(context: context) { environment[$0] }
    }

    func register(into hooks: inout HookRegistry) { plugin.register(into: &hooks) }
}

@Suite struct DNSBLTests {
    /// 192.0.2.10 under a zone.
    static let listedName = "10.2.0.192.bl.example"

    private func dnsbl(
        _ arguments: String = "", zones: [String] = ["bl.example"], config: [String: [String]] = [:],
        dns: any DNSResolver, ip: String = "192.0.2.10", environment: [String: String] = [:]
    ) throws -> PluginHarness {
        var files = config
        files["dnsbl_zones"] = zones
        return try DNSBLWithEnvironment.$environment.withValue(environment) {
            try PluginHarness(DNSBLWithEnvironment.self, "dnsbl " + arguments, config: files, services: DNSTest.services(dns), remoteIP: ip)
        }
    }

    private func listed(_ text: String = "Listed: see https://bl.example/192.0.2.10") -> StubDNSResolver {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .txt, [.txt(text)])
        return dns
    }

    // MARK: Answers

    @Test func passesAClientNoZoneLists() async throws {
        let dns = StubDNSResolver()
        let harness = try dnsbl(zones: ["bl.example", "other.example"], dns: dns)
        #expect(try await harness.connect() == .declined)
        #expect(Set(DNSTest.asked(dns)) == [Self.listedName, "10.2.0.192.other.example"])
        #expect(dns.queries.allSatisfy { $0.type == .txt })
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
    }

    @Test func refusesAListedClientAtConnectWithTheTXTText() async throws {
        let harness = try dnsbl(dns: listed())
        #expect(try await harness.connect() == .deny("Listed: see https://bl.example/192.0.2.10"))
        #expect(harness.connection[note: .karma] == -1)
        #expect(harness.connection[note: DNSBL.finding] == "Listed: see https://bl.example/192.0.2.10")
    }

    @Test func dnsblRejectmsgLinesComeFirst() async throws {
        let config = ["dnsbl_rejectmsg": ["If you think this is wrong,", "ask your ISP."]]
        let harness = try dnsbl(config: config, dns: listed("Spam source"))
        #expect(try await harness.connect() == .deny("If you think this is wrong,\nask your ISP.\nSpam source"))
    }

    @Test func aZoneWithATextIsAskedForARecordsAndGivesTheTextWithTheAddress() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .a, [.a("127.0.0.2")])
        let harness = try dnsbl(zones: ["bl.example:Listed at https://bl.example/?ip=%IP% (%IP%)"], dns: dns)
        #expect(try await harness.connect() == .deny("Listed at https://bl.example/?ip=192.0.2.10 (192.0.2.10)"))
        #expect(dns.queries.map(\.type) == [.a])
    }

    @Test func aZoneTextMayFollowASpaceToo() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .a, [.a("127.0.0.2")])
        #expect(try await dnsbl(zones: ["bl.example  Go away"], dns: dns).connect() == .deny("Go away"))
    }

    @Test func anEmptyTXTRecordGivesBlockedByTheZone() async throws {
        #expect(try await dnsbl(dns: listed("")).connect() == .deny("Blocked by bl.example"))
    }

    @Test func noTXTRecordIsNotAListing() async throws {
        let dns = StubDNSResolver()
        dns.set(Self.listedName, .a, [.a("127.0.0.2")])  // the name exists, but TXT was asked
        #expect(try await dnsbl(dns: dns).connect() == .declined)
    }

    @Test func oneListingIsEnoughAmongFailuresAndPasses() async throws {
        let dns = listed("Listed")
        dns.fail("10.2.0.192.broken.example", .txt, with: .serverFailure("SERVFAIL"))
        let harness = try dnsbl(zones: ["clean.example", "broken.example", "bl.example"], dns: dns)
        #expect(try await harness.connect() == .deny("Listed"))
    }

    @Test func ipv6ClientsAreAskedByNibbles() async throws {
        let dns = StubDNSResolver()
        let name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example"
        dns.set(name, .txt, [.txt("v6 listed")])
        #expect(try await dnsbl(dns: dns, ip: "2001:db8::1").connect() == .deny("v6 listed"))
        #expect(DNSTest.asked(dns) == [name])
    }

    @Test func ipv4MappedClientsAreAskedAsIPv4() async throws {
        let dns = listed("Listed")
        #expect(try await dnsbl(dns: dns, ip: "::ffff:192.0.2.10").connect() == .deny("Listed"))
    }

    // MARK: reject and reject_type

    @Test(arguments: [
        ("reject_type temp", HookResult.denySoft("Listed")),
        ("reject_type soft", .denySoft("Listed")),
        ("reject_type disconnect", .denyDisconnect("Listed")),
        ("reject_type temp_disconnect", .denySoftDisconnect("Listed")),
        ("reject_type perm", .deny("Listed")),
        // qpsmtpd's legacy form: a single word is the reject type.
        ("disconnect", .denyDisconnect("Listed")),
        ("temp", .denySoft("Listed")),
        ("disconnect reject_type temp", .denySoft("Listed")),
    ])
    func rejectTypes(arguments: String, expected: HookResult) async throws {
        #expect(try await dnsbl(arguments, dns: listed("Listed")).connect() == expected)
    }

    @Test func rejectNaughtyLeavesTheRefusalToNaughty() async throws {
        let harness = try dnsbl("reject naughty", dns: listed("Listed"))
        #expect(try await harness.connect() == .declined)
        #expect(harness.connection[note: .naughty] == "Listed")
        #expect(harness.connection[note: .naughtyRejectType] == "perm")
    }

    @Test func specialRecipientsClearTheDeferredRefusal() async throws {
        let harness = try dnsbl("reject naughty", dns: listed("Listed"))
        try await harness.connect()
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
        #expect(harness.connection[note: .naughty] == "Listed")
        #expect(try await harness.rcpt(to: "Postmaster@example.org") == .declined)
        #expect(harness.connection[note: .naughty] == nil)
    }

    @Test func specialRecipientsLeaveOtherPluginsNaughtyNotesAlone() async throws {
        let harness = try dnsbl("reject naughty", dns: StubDNSResolver())
        try await harness.connect()
        harness.connection[note: .naughty] = "karma says no"
        try await harness.rcpt(to: "abuse@example.org")
        #expect(harness.connection[note: .naughty] == "karma says no")
    }

    /// `reject 0` must not hold up the greeting: connect returns while the lookups still wait,
    /// and the listing is only logged (and costs karma) when the answers come.
    @Test func rejectZeroDoesNotWaitAndOnlyLogs() async throws {
        let dns = GatedDNSResolver()
        dns.answers.set(Self.listedName, .txt, [.txt("Listed")])
        let harness = try dnsbl("reject 0", dns: dns)
        #expect(try await harness.connect() == .declined)
        #expect(try await DNSTest.eventually { dns.names == [Self.listedName] })
        #expect(harness.connection[note: .karma] == nil)
        dns.open()
        #expect(try await DNSTest.eventually { harness.connection[note: .karma] == -1 })
        #expect(harness.connection[note: .naughty] == nil)
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
    }

    // MARK: Parallel lookups and their lifetime

    @Test func everyZoneIsAskedAtOnce() async throws {
        let dns = GatedDNSResolver()
        let harness = try dnsbl("reject 0", zones: ["a.example", "b.example", "c.example"], dns: dns)
        try await harness.connect()
        // All three are in flight together, none answered yet.
        #expect(try await DNSTest.eventually { dns.names.count == 3 })
        dns.open()
    }

    @Test func disconnectCancelsLookupsInFlight() async throws {
        let dns = GatedDNSResolver()
        let harness = try dnsbl("reject 0", zones: ["a.example", "b.example"], dns: dns)
        try await harness.connect()
        #expect(try await DNSTest.eventually { dns.names.count == 2 })
        try await harness.run(.disconnect)
        #expect(!DNSBL.lookups.isStarted(on: harness.connection))
        #expect(try await DNSTest.eventually { dns.cancellations == 2 })
    }

    // MARK: Who is not checked

    @Test func relayClientsAndWhitelistedHostsAreNotChecked() async throws {
        let dns = listed()
        let relay = try dnsbl(dns: dns)
        relay.connection.isRelayClient = true
        #expect(try await relay.connect() == .declined)
        let whitelisted = try dnsbl(dns: dns)
        whitelisted.connection[note: .whitelistHost] = true
        #expect(try await whitelisted.connect() == .declined)
        #expect(dns.queries.isEmpty)
    }

    @Test(arguments: ["192.0.2.10", "192.0.2.", "192.0.", "192.0.2.0/24"])
    func dnsblAllowSkipsTheClient(entry: String) async throws {
        let dns = listed()
        #expect(try await dnsbl(config: ["dnsbl_allow": [entry]], dns: dns).connect() == .declined)
        #expect(dns.queries.isEmpty)
    }

    @Test func dnsblAllowOtherAddressesStillChecked() async throws {
        let dns = listed("Listed")
        #expect(try await dnsbl(config: ["dnsbl_allow": ["192.0.2.100", "192.0.3."]], dns: dns).connect() == .deny("Listed"))
    }

    @Test func noZonesNoLookups() async throws {
        let dns = StubDNSResolver()
        #expect(try await dnsbl(zones: [], dns: dns).connect() == .declined)
        #expect(dns.queries.isEmpty)
    }

    // MARK: RBLSMTPD

    @Test func emptyRBLSMTPDSkipsAllChecks() async throws {
        let dns = listed()
        let harness = try dnsbl(dns: dns, environment: ["RBLSMTPD": ""])
        #expect(try await harness.connect() == .declined)
        #expect(try await harness.rcpt(to: "user@example.org") == .declined)
        #expect(dns.queries.isEmpty)
    }

    @Test func nonEmptyRBLSMTPDIsTheRefusalAtRcpt() async throws {
        let dns = listed()
        let config = ["dnsbl_rejectmsg": ["Blocked here:", "second line unused"]]
        let harness = try dnsbl(config: config, dns: dns, environment: ["RBLSMTPD": "you (%IP%) are blocked"])
        #expect(try await harness.connect() == .declined)
        #expect(try await harness.rcpt(to: "user@example.org") == .deny("Blocked here: you (192.0.2.10) are blocked"))
        #expect(try await harness.rcpt(to: "postmaster@example.org") == .declined)
        #expect(dns.queries.isEmpty)
    }

    @Test func rblsmtpdFollowsRejectAndRejectType() async throws {
        let environment = ["RBLSMTPD": "blocked"]
        #expect(try await dnsbl("reject_type temp", dns: StubDNSResolver(), environment: environment).rcpt(to: "u@example.org") == .denySoft("blocked"))
        #expect(try await dnsbl("reject 0", dns: StubDNSResolver(), environment: environment).rcpt(to: "u@example.org") == .declined)
    }

    // MARK: DNS failure

    @Test func failedLookupsAreToleratedByDefault() async throws {
        let dns = StubDNSResolver()
        dns.fail(Self.listedName, .txt, with: .serverFailure("SERVFAIL"))
        #expect(try await dnsbl(dns: dns).connect() == .declined)
        #expect(try await dnsbl("dns_failure tolerate", dns: dns).connect() == .declined)
    }

    @Test func failedLookupsDeferWhenAsked() async throws {
        let dns = StubDNSResolver()
        dns.fail(Self.listedName, .txt, with: .timeout)
        #expect(try await dnsbl("dns_failure defer", dns: dns).connect() == .denySoft(DNSBL.failureMessage))
        // Temporary even where a listing would be permanent, keeping the disconnect.
        #expect(try await dnsbl("dns_failure defer reject_type perm", dns: dns).connect() == .denySoft(DNSBL.failureMessage))
        #expect(try await dnsbl("disconnect dns_failure defer", dns: dns).connect() == .denySoftDisconnect(DNSBL.failureMessage))
        #expect(try await dnsbl("dns_failure defer reject 0", dns: dns).connect() == .declined)
    }

    /// A resolver that never answers: the connect hook gives up at its own deadline (`timeout`).
    @Test func noAnswerByTheDeadlineIsAFailure() async throws {
        let dns = GatedDNSResolver()
        let start = ContinuousClock.now
        #expect(try await dnsbl("timeout 0.3", dns: dns).connect() == .declined)
        #expect(try await dnsbl("timeout 0.3 dns_failure defer", dns: dns).connect() == .denySoft(DNSBL.failureMessage))
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    // MARK: Arguments

    @Test(arguments: [
        "reject maybe", "reject_type never", "sometimes", "bogus 1", "dns_failure sometimes", "timeout -1", "timeout soon",
        "loglevel loud", "reject 1 reject_type",
    ])
    func refusesBadArguments(arguments: String) {
        #expect(throws: PluginHarness.LoadError.self) { try dnsbl(arguments, dns: StubDNSResolver()) }
    }

    @Test(arguments: ["async/dnsbl", "dnsbl"])
    func loadsUnderItsNames(name: String) async throws {
        let dns = listed("Listed")
        let harness = try PluginHarness(name, config: ["dnsbl_zones": ["bl.example"]], services: DNSTest.services(dns), remoteIP: "192.0.2.10")
        #expect(try await harness.connect() == .deny("Listed"))
    }

    @Test func zoneLines() {
        let zones = DNSListZone.parse(["bl.example", "A.Example.:Text: with colon", "b.example  some text ", "c.example:"], colon: true)
        #expect(zones == [
            DNSListZone(zone: "bl.example"), DNSListZone(zone: "a.example", text: "Text: with colon"),
            DNSListZone(zone: "b.example", text: "some text"), DNSListZone(zone: "c.example"),
        ])
    }
}
