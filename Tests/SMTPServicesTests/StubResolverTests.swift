import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct StubResolverTests {
    let deadline = ContinuousClock.now.advanced(by: .seconds(5))

    @Test func programmedAnswers() async throws {
        let dns = StubDNSResolver()
        dns.set("example.com", .mx, [.mx(preference: 20, exchange: "backup.example.com"), .mx(preference: 10, exchange: "mx.example.com")])
        dns.set("mx.example.com", .a, [.a("192.0.2.25")])
        dns.set("mx.example.com", .aaaa, [.aaaa("2001:db8::25")])
        dns.set("example.com", .txt, [.txt("v=spf1 -all")])
        #expect(try await dns.mx(of: "Example.COM.", deadline: deadline).map(\.exchange) == ["mx.example.com", "backup.example.com"])
        #expect(try await dns.addresses(of: "mx.example.com", deadline: deadline) == ["192.0.2.25", "2001:db8::25"])
        #expect(try await dns.txt(of: "example.com", deadline: deadline) == ["v=spf1 -all"])
        #expect(dns.queries.count == 4)
    }

    @Test func unknownNamesAndTypes() async throws {
        let dns = StubDNSResolver()
        dns.set("example.com", .a, [.a("192.0.2.1")])
        await #expect(throws: DNSError.nxdomain("nowhere.example")) { try await dns.lookup("nowhere.example", .a, deadline: deadline) }
        await #expect(throws: DNSError.noData("example.com", .mx)) { try await dns.lookup("example.com", .mx, deadline: deadline) }
        dns.fail("slow.example", .txt, with: .timeout)
        await #expect(throws: DNSError.timeout) { try await dns.txt(of: "slow.example", deadline: deadline) }
    }

    @Test func reverseLookups() async throws {
        #expect(StubDNSResolver.reverseName("192.0.2.10") == "10.2.0.192.in-addr.arpa")
        #expect(StubDNSResolver.reverseName("2001:db8::1") == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
        #expect(StubDNSResolver.reverseName("not an ip") == nil)
        let dns = StubDNSResolver()
        dns.set("10.2.0.192.in-addr.arpa", .ptr, [.ptr("client.example.net")])
        #expect(try await dns.ptr(of: "192.0.2.10", deadline: deadline) == ["client.example.net"])
    }

    @Test func productionDefaultSaysItIsNotConfigured() async throws {
        let services = PluginServices(hostName: "mx.test")
        await #expect(throws: DNSError.notConfigured) { try await services.dns.addresses(of: "example.com", deadline: deadline) }
        await #expect(throws: OutboundError.notConfigured) { try await services.connector.connect(to: .tcp(host: "127.0.0.1", port: 1), deadline: deadline) }
    }
}

@Suite struct SpoolReaderTests {
    @Test(arguments: [1 << 20, 16])
    func chunksMatchTheMessage(threshold: Int) async throws {
        let text = Array(("Subject: x\r\n\r\n" + String(repeating: "0123456789", count: 1000)).utf8)
        let message = SpooledMessage(spoolDirectory: TemporaryDirectory.make(prefix: "spool"), memoryThreshold: threshold)
        try message.append(text)
        message.bodyOffset = 12
        #expect(message.isInMemory == (threshold > text.count))
        let reader = BlockingSpoolReader(blocking: InlineBlockingWorkRunner())
        var whole: [UInt8] = []
        var chunks = 0
        for try await chunk in reader.chunks(of: message, chunkSize: 4096) {
            whole += chunk
            chunks += 1
        }
        #expect(whole == text)
        #expect(chunks == 3)
        var body: [UInt8] = []
        for try await chunk in reader.body(of: message) { body += chunk }
        #expect(body == Array(text[12...]))
    }
}
