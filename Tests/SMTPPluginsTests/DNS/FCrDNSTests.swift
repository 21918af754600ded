import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct FCrDNSTests {
    /// 192.0.2.10 has the PTR name mail.example.org, whose A record is `forward`.
    private func stub(forward: [String] = ["192.0.2.10"]) -> StubDNSResolver {
        let dns = StubDNSResolver()
        dns.set("10.2.0.192.in-addr.arpa", .ptr, [.ptr("mail.example.org")])
        dns.set("mail.example.org", .a, forward.map { .a($0) })
        return dns
    }

    private func harness(_ line: String, _ dns: any DNSResolver, remoteIP: String = "192.0.2.10") throws -> PluginHarness {
        try PluginHarness(line, services: stubServices(dns), remoteIP: remoteIP)
    }

    private func harness(_ dns: any DNSResolver, remoteIP: String = "192.0.2.10") throws -> PluginHarness {
        try harness("fcrdns", dns, remoteIP: remoteIP)
    }

    @Test func passWhenTheNameMapsBack() async throws {
        let plugin = try harness(stub())
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=pass policy.iprev=192.0.2.10"])
        #expect(plugin.connection[note: .fcrdns] == "pass")
        #expect(plugin.connection.remoteHost == "mail.example.org")
        #expect(plugin.connection[note: .karma] == nil)
    }

    @Test func aNameTheEnvironmentGaveIsKept() async throws {
        let plugin = try harness(stub())
        plugin.connection.remoteHost = "given.example.org"
        try await plugin.connect()
        #expect(plugin.connection.remoteHost == "given.example.org")
        #expect(plugin.connection[note: .fcrdns] == "pass")
    }

    /// qpsmtpd lets a pool of servers pass: an address in the client's /24 counts.
    @Test func passOnTheSameNetwork() async throws {
        let plugin = try harness(stub(forward: ["192.0.2.99"]))
        try await plugin.connect()
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=pass policy.iprev=192.0.2.10"])
    }

    @Test func failWhenNoNameMapsBack() async throws {
        let plugin = try harness(stub(forward: ["198.51.100.1"]))
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=fail policy.iprev=192.0.2.10"])
        #expect(plugin.connection[note: .fcrdns] == "fail")
        #expect(plugin.connection.remoteHost == nil)
        #expect(plugin.connection[note: .karma] == -1)
    }

    @Test func failWhenTheNameHasNoAddress() async throws {
        let dns = StubDNSResolver()
        dns.set("10.2.0.192.in-addr.arpa", .ptr, [.ptr("ghost.example.org")])
        let plugin = try harness(dns)
        try await plugin.connect()
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=fail policy.iprev=192.0.2.10"])
    }

    @Test(arguments: [DNSError.nxdomain("10.2.0.192.in-addr.arpa"), .noData("10.2.0.192.in-addr.arpa", .ptr)])
    func permerrorWithoutPTR(error: DNSError) async throws {
        let dns = StubDNSResolver()
        dns.fail("10.2.0.192.in-addr.arpa", .ptr, with: error)
        let plugin = try harness(dns)
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=permerror policy.iprev=192.0.2.10"])
        #expect(plugin.connection[note: .karma] == -1)
    }

    @Test func permerrorWithAnEmptyPTRAnswer() async throws {
        let dns = StubDNSResolver()
        dns.set("10.2.0.192.in-addr.arpa", .ptr, [])
        let plugin = try harness(dns)
        try await plugin.connect()
        #expect(plugin.connection[note: .fcrdns] == "permerror")
    }

    @Test(arguments: [DNSError.timeout, .serverFailure("SERVFAIL")])
    func temperrorIsToleratedByDefault(error: DNSError) async throws {
        let dns = StubDNSResolver()
        dns.fail("10.2.0.192.in-addr.arpa", .ptr, with: error)
        let plugin = try harness(dns)
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=temperror policy.iprev=192.0.2.10"])
        #expect(plugin.connection[note: .karma] == nil)
    }

    @Test func aFailedForwardLookupIsATemperror() async throws {
        let dns = stub()
        dns.fail("mail.example.org", .a, with: .serverFailure("SERVFAIL"))
        let plugin = try harness(dns)
        try await plugin.connect()
        #expect(plugin.connection[note: .fcrdns] == "temperror")
    }

    @Test func deferOnDNSFailureWhenAsked() async throws {
        let dns = StubDNSResolver()
        dns.fail("10.2.0.192.in-addr.arpa", .ptr, with: .timeout)
        let plugin = try harness("fcrdns dns_failure defer", dns)
        #expect(try await plugin.connect() == .denySoft("4.7.25 Cannot verify the reverse DNS of 192.0.2.10 now; try again later"))
        // A definite answer is not a DNS failure: still only recorded.
        let failing = try harness("fcrdns dns_failure defer", stub(forward: ["198.51.100.1"]))
        #expect(try await failing.connect() == .declined)
    }

    @Test func rejectsOnlyWhenAsked() async throws {
        let temp = try harness("fcrdns reject 1", stub(forward: ["198.51.100.1"]))
        #expect(try await temp.connect() == .denySoft("5.7.25 Reverse DNS validation failed for 192.0.2.10"))
        let perm = try harness("fcrdns reject 1 reject_type perm", stub(forward: ["198.51.100.1"]))
        #expect(try await perm.connect() == .deny("5.7.25 Reverse DNS validation failed for 192.0.2.10"))
        let pass = try harness("fcrdns reject 1", stub())
        #expect(try await pass.connect() == .declined)
        // A DNS failure is not a failed check.
        let broken = StubDNSResolver()
        broken.fail("10.2.0.192.in-addr.arpa", .ptr, with: .timeout)
        #expect(try await harness("fcrdns reject 1", broken).connect() == .declined)
    }

    @Test func rejectNaughtyLeavesItToNaughty() async throws {
        let plugin = try harness("fcrdns reject naughty", stub(forward: ["198.51.100.1"]))
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .naughty] == "5.7.25 Reverse DNS validation failed for 192.0.2.10")
        #expect(plugin.connection[note: .naughtyRejectType] == "temp")
    }

    @Test func immuneClientsAreNotLookedUp() async throws {
        let dns = stub()
        let plugin = try harness(dns)
        plugin.connection.isRelayClient = true
        try await plugin.connect()
        #expect(dns.queries.isEmpty)
        #expect(plugin.connection[note: .authenticationResults] == nil)

        let whitelisted = try harness(dns)
        whitelisted.connection[note: .whitelistHost] = true
        try await whitelisted.connect()
        #expect(dns.queries.isEmpty)
    }

    /// qpsmtpd checks loopback clients too (and counts them in their favour): so do we.
    @Test func loopbackClientsAreChecked() async throws {
        let dns = StubDNSResolver()
        dns.set("5.0.0.127.in-addr.arpa", .ptr, [.ptr("localhost.test.example.")])
        dns.set("localhost.test.example", .a, [.a("127.0.0.5")])
        let plugin = try harness(dns, remoteIP: "127.0.0.5")
        try await plugin.connect()
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=pass policy.iprev=127.0.0.5"])
        #expect(plugin.connection[note: .karma] == 1)
    }

    @Test func ipv6ClientsAskForAAAA() async throws {
        let dns = StubDNSResolver()
        let reverse = try #require(StubDNSResolver.reverseName("2001:db8::25"))
        dns.set(reverse, .ptr, [.ptr("mx.example.net")])
        dns.set("mx.example.net", .aaaa, [.aaaa("2001:0db8:0:0:0:0:0:25")])
        let plugin = try harness(dns, remoteIP: "2001:db8::25")
        try await plugin.connect()
        #expect(plugin.connection[note: .fcrdns] == "pass")
        #expect(dns.queries.map(\.type) == [.ptr, .aaaa])
    }

    /// An IPv4 client seen on an IPv6 socket is looked up as the IPv4 address it is.
    @Test func mappedIPv4ClientsAreLookedUpAsIPv4() async throws {
        let dns = stub()
        let plugin = try harness(dns, remoteIP: "::ffff:192.0.2.10")
        try await plugin.connect()
        #expect(plugin.connection[note: .authenticationResults] == ["iprev=pass policy.iprev=::ffff:192.0.2.10"])
        #expect(dns.queries.map(\.name) == ["10.2.0.192.in-addr.arpa", "mail.example.org"])
    }

    /// A name the environment gave (TCPREMOTEHOST) that is `localhost`, or not a host name,
    /// ends the check before any lookup, as in qpsmtpd.
    @Test(arguments: ["localhost", "nodots", "bad_name.example"])
    func aBadGivenNameEndsTheCheck(given: String) async throws {
        let dns = stub()
        let plugin = try harness(dns)
        plugin.connection.remoteHost = given
        #expect(try await plugin.connect() == .declined)
        #expect(dns.queries.isEmpty)
        #expect(plugin.connection[note: .karma] == -1)
    }

    @Test func atMostTenNamesAreCheckedAndInParallel() async throws {
        let dns = StubDNSResolver()
        dns.set("10.2.0.192.in-addr.arpa", .ptr, (1...15).map { .ptr("host\($0).example.org") })
        for n in 1...15 { dns.set("host\(n).example.org", .a, [.a("198.51.100.\(n)")]) }
        let slow = SlowResolver(dns, delay: .milliseconds(300))
        let plugin = try harness(slow)
        let started = ContinuousClock.now
        try await plugin.connect()
        let elapsed = ContinuousClock.now - started
        #expect(dns.queries.count == 1 + FCrDNS.maxNames)
        #expect(slow.mostAtOnce == FCrDNS.maxNames)
        // One PTR, then ten forward lookups side by side: two delays, not eleven.
        #expect(elapsed < .milliseconds(2500))
        #expect(plugin.connection[note: .fcrdns] == "fail")
    }

    @Test func everyLookupGetsTheHookDeadline() async throws {
        let slow = SlowResolver(stub(), delay: .zero)
        let plugin = try PluginHarness("fcrdns timeout 2", services: stubServices(slow))
        let before = ContinuousClock.now
        try await plugin.connect()
        #expect(slow.deadlines.count == 2)
        // The hook's own deadline (its `timeout 2`), not a shorter or longer one.
        for deadline in slow.deadlines {
            #expect(deadline >= before + .milliseconds(1900))
            #expect(deadline <= ContinuousClock.now + .seconds(2))
        }
    }

    @Test(arguments: ["fcrdns dns_failure sometimes", "fcrdns reject 2", "fcrdns reject_type later", "fcrdns colour blue", "fcrdns timeout soon", "fcrdns reject"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}
