import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

@Suite struct URIBLTests {
    /// evil.example is listed in uribl.test (127.0.0.2, with a reason).
    private func listing() -> StubDNSResolver {
        let dns = StubDNSResolver()
        dns.set("evil.example.uribl.test", .a, [.a("127.0.0.2")])
        dns.set("evil.example.uribl.test", .txt, [.txt("listed for spam")])
        return dns
    }

    private func harness(
        _ line: String = "uribl", zones: [String] = ["uribl.test"], whitelist: [String] = [], dns: any DNSResolver, spool: (any SpoolReader)? = nil
    ) throws -> PluginHarness {
        try PluginHarness(
            line, config: ["uribl_zones": zones, "uribl_whitelist_domains": whitelist],
            services: PluginServices(hostName: "mx.test.example", dns: dns, spool: spool))
    }

    private func message(_ body: String, header: String = "Subject: hello") -> String {
        "\(header)\r\nFrom: a@sender.example\r\n\r\n\(body)\r\n"
    }

    @Test func addsAHeaderByDefault() async throws {
        let plugin = try harness(dns: listing())
        try plugin.setMessage(message("Buy now at http://www.evil.example/shop?x=1 today"))
        #expect(try await plugin.dataPost() == .declined)
        #expect(plugin.transaction.header.all(named: "X-URIBL-Match").map(\.value) == ["evil.example in uribl.test: listed for spam"])
    }

    @Test func aCleanMessagePasses() async throws {
        let dns = listing()
        let plugin = try harness(dns: dns)
        try plugin.setMessage(message("See https://good.example/ and write to me@sender.example.org"))
        #expect(try await plugin.dataPost() == .declined)
        #expect(plugin.transaction.header.all(named: "X-URIBL-Match").isEmpty)
        // A bare name (an address's domain) counts too, when its TLD is one qpsmtpd knows.
        #expect(Set(dns.queries.map(\.name)) == ["good.example.uribl.test", "example.org.uribl.test", "sender.example.org.uribl.test"])
    }

    @Test func denyAndDenysoft() async throws {
        let deny = try harness("uribl action deny", dns: listing())
        try deny.setMessage(message("http://evil.example/"))
        #expect(try await deny.dataPost() == .deny("evil.example in uribl.test: listed for spam"))

        let soft = try harness("uribl action denysoft", dns: listing())
        try soft.setMessage(message("http://evil.example/"))
        #expect(try await soft.dataPost() == .denySoft("evil.example in uribl.test: listed for spam"))

        let tolerated = try harness("uribl action deny reject 0", dns: listing())
        try tolerated.setMessage(message("http://evil.example/"))
        #expect(try await tolerated.dataPost() == .declined)
    }

    /// The zone's own action wins over the argument; `log` only logs.
    @Test func zoneActions() async throws {
        let dns = listing()
        dns.set("evil.example.other.test", .a, [.a("127.0.0.2")])
        let plugin = try harness("uribl action deny", zones: ["uribl.test 0 add-header", "other.test -1 log"], dns: dns)
        try plugin.setMessage(message("http://evil.example/"))
        #expect(try await plugin.dataPost() == .declined)
        #expect(plugin.transaction.header.all(named: "X-URIBL-Match").map(\.value) == ["evil.example in uribl.test: listed for spam"])
    }

    /// Without a TXT record the A answer describes the listing.
    @Test func theAAnswerStandsInForAMissingReason() async throws {
        let dns = StubDNSResolver()
        dns.set("evil.example.uribl.test", .a, [.a("127.0.0.4")])
        let plugin = try harness("uribl action deny", dns: dns)
        try plugin.setMessage(message("http://evil.example/"))
        #expect(try await plugin.dataPost() == .deny("evil.example in uribl.test: 127.0.0.4"))
    }

    @Test func masksSelectLists() throws {
        let line = ConfigLine(text: "multi.test 2,8 deny", file: "uribl_zones", lineNumber: 1)
        let zone = try URIBLZone(line, defaultAction: .addHeader)
        #expect(zone.mask == 10)
        #expect(zone.action == .deny)
        #expect(zone.isListed(by: "127.0.0.2"))
        #expect(zone.isListed(by: "127.0.0.8"))
        #expect(!zone.isListed(by: "127.0.0.4"))
        let every = try URIBLZone(ConfigLine(text: "multi.test", file: "f", lineNumber: 1), defaultAction: .addHeader)
        #expect(every.isListed(by: "127.0.0.1"))
        #expect(every.action == .addHeader)
    }

    @Test(arguments: ["multi.test 2,x", "multi.test 2 reject", "multi.test 1 deny extra"])
    func badZoneLinesStopTheLoad(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try harness(zones: [line], dns: StubDNSResolver()) }
    }

    @Test func masksInAMessage() async throws {
        let dns = StubDNSResolver()
        dns.set("evil.example.multi.test", .a, [.a("127.0.0.4")])
        let plugin = try harness("uribl action deny", zones: ["multi.test 2"], dns: dns)
        try plugin.setMessage(message("http://evil.example/"))
        #expect(try await plugin.dataPost() == .declined)
    }

    @Test func whitelistedDomainsAreNotLookedUp() async throws {
        let dns = listing()
        let plugin = try harness(whitelist: ["example.com", "EVIL.example"], dns: dns)
        try plugin.setMessage(message("http://www.example.com/ http://mail.evil.example/ http://other.example/"))
        #expect(try await plugin.dataPost() == .declined)
        #expect(dns.queries.map(\.name) == ["other.example.uribl.test"])
    }

    /// Under a two-level ccTLD the registered domain has three labels; parents are looked up too.
    @Test func registeredDomains() async throws {
        let dns = StubDNSResolver()
        let plugin = try harness(dns: dns)
        try plugin.setMessage(message("http://a.b.shop.co.uk/ http://x.y.example.com/"))
        try await plugin.dataPost()
        #expect(
            dns.queries.map(\.name).sorted() == [
                "a.b.shop.co.uk", "b.shop.co.uk", "shop.co.uk", "example.com", "x.y.example.com", "y.example.com",
            ].map { $0 + ".uribl.test" }.sorted())
    }

    @Test func addressesInURIs() async throws {
        let dns = StubDNSResolver()
        dns.set("5.2.0.192.uribl.test", .a, [.a("127.0.0.2")])
        let plugin = try harness("uribl action deny", dns: dns)
        for uri in ["http://192.0.2.5/x", "http://3221225989/", "http://0xc0.0.2.05/", "http://user:pw@0300.0.2.5:8080/"] {
            try plugin.setMessage(message("click \(uri) now"))
            #expect(try await plugin.dataPost() == .deny("5.2.0.192 in uribl.test: 127.0.0.2"), "\(uri)")
        }
        let noIP = try harness("uribl action deny checkip no", dns: dns)
        try noIP.setMessage(message("http://192.0.2.5/x"))
        #expect(try await noIP.dataPost() == .declined)
    }

    @Test func headersOnlyWhenAsked() async throws {
        let header = "Subject: visit http://evil.example/"
        let plain = try harness("uribl action deny", dns: listing())
        try plain.setMessage(message("nothing here", header: header))
        #expect(try await plain.dataPost() == .declined)

        for flag in ["scan-headers 1", "check-headers yes"] {
            let scanning = try harness("uribl action deny \(flag)", dns: listing())
            try scanning.setMessage(message("nothing here", header: header))
            #expect(try await scanning.dataPost() == .deny("evil.example in uribl.test: listed for spam"))
        }
    }

    /// Quoted-printable soft breaks, `%`/`=` escapes and entities are undone first, as qpsmtpd does.
    @Test(arguments: ["http://evil.exa=\r\nmple/", "http://evil%2Eexample/", "http://evil=2Eexample/", "http://evil&#46;example/", "http://evil.ex;ample/"])
    func mungedURIs(uri: String) async throws {
        let plugin = try harness("uribl action deny", dns: listing())
        try plugin.setMessage(message("go to \(uri)"))
        #expect(try await plugin.dataPost() == .deny("evil.example in uribl.test: listed for spam"))
    }

    @Test func dnsFailureIsToleratedOrDeferred() async throws {
        let dns = StubDNSResolver()
        dns.fail("slow.example.uribl.test", .a, with: .timeout)
        let tolerant = try harness(dns: dns)
        try tolerant.setMessage(message("http://slow.example/"))
        #expect(try await tolerant.dataPost() == .declined)

        let deferring = try harness("uribl dns_failure defer", dns: dns)
        try deferring.setMessage(message("http://slow.example/"))
        #expect(try await deferring.dataPost() == .denySoft("4.4.3 Cannot check the URIs of this message now; try again later"))

        // A listing found is acted on whatever else failed.
        let both = listing()
        both.fail("slow.example.uribl.test", .a, with: .serverFailure("SERVFAIL"))
        let listed = try harness("uribl action deny dns_failure defer", dns: both)
        try listed.setMessage(message("http://slow.example/ http://evil.example/"))
        #expect(try await listed.dataPost() == .deny("evil.example in uribl.test: listed for spam"))
    }

    @Test func lookupsAreBoundedAndParallel() async throws {
        let slow = SlowResolver(StubDNSResolver(), delay: .milliseconds(100))
        let plugin = try harness("uribl max_lookups 40", zones: ["one.test", "two.test"], dns: slow)
        let hosts = (1...300).map { "http://host\($0).example\($0).com/" }.joined(separator: " ")
        try plugin.setMessage(message(hosts))
        let started = ContinuousClock.now
        #expect(try await plugin.dataPost() == .declined)
        #expect(slow.deadlines.count == 40)
        // Every query has the hook's deadline (the harness gives plugins 5 s).
        let finished = ContinuousClock.now
        #expect(slow.deadlines.allSatisfy { $0 >= started + .seconds(5) && $0 <= finished + .seconds(5) })
        #expect(slow.mostAtOnce == URIBL.parallelLookups)
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test func noZonesNoHooks() throws {
        let plugin = try harness(zones: [], dns: StubDNSResolver())
        #expect(plugin.registeredHooks.isEmpty)
        let alias = try harness("async/uribl", dns: StubDNSResolver())
        #expect(alias.registeredHooks == [.dataPost])
    }

    @Test(arguments: ["uribl action reject", "uribl checkip maybe", "uribl max_lookups 0", "uribl dns_failure later", "uribl scan_headers 1"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try harness(line, dns: StubDNSResolver()) }
    }

    /// A 3 MB message on disk is read through the spool reader in chunks, never whole, and a URI
    /// across the boundary between two chunks is found.
    @Test func streamsALargeMessage() async throws {
        let reader = CountingSpoolReader()
        // A long timeout: decoding 3 MB byte by byte in a debug build, on a machine busy with the
        // rest of the suite, can take seconds; this test is about streaming, not speed.
        let plugin = try harness("uribl action deny timeout 60", dns: listing(), spool: reader)
        let filler = String(repeating: "lorem ipsum dolor sit amet, consectetur adipiscing elit\r\n", count: 56_000)
        let head = "Subject: big\r\n\r\n"
        // Put the URI so that the first 64 KiB chunk of the body ends in its middle.
        let uri = "http://www.evil.example/landing"
        let before = String(decoding: filler.utf8.prefix(65_536 - 12), as: UTF8.self)
        try plugin.setMessage(head + before + uri + "\r\n" + filler, memoryThreshold: 0)
        let body = try #require(plugin.transaction.body)
        #expect(!body.isInMemory)
        #expect(body.size > 3_000_000)
        // The first chunk of the body ends ten bytes into the URI.
        let boundary = body.bodyOffset + 65_536
        #expect(try body.chunk(at: boundary - 10, maxCount: 20) == Array("http://www.evil.exam".utf8))
        #expect(try await plugin.dataPost() == .deny("evil.example in uribl.test: listed for spam"))
        #expect(reader.largestRead <= 65_536)
        #expect(reader.reads >= body.size / 65_536)
    }
}

/// Reads through a `BlockingSpoolReader`, recording how much each read asked for.
final class CountingSpoolReader: SpoolReader {
    private let inner = BlockingSpoolReader(blocking: InlineBlockingWorkRunner())
    private let state = Mutex<(reads: Int, largest: Int)>((0, 0))

    var reads: Int { state.withLock { $0.reads } }
    var largestRead: Int { state.withLock { $0.largest } }

    func read(_ message: SpooledMessage, at offset: Int, maxCount: Int) async throws -> [UInt8] {
        state.withLock {
            $0.reads += 1
            $0.largest = max($0.largest, maxCount)
        }
        return try await inner.read(message, at: offset, maxCount: maxCount)
    }
}
