import DNSWire
import NIOCore
import SMTPPluginAPI
import SMTPServices
import Testing

/// The resolver against a real unbound serving test zones.
@Suite(.serialized) struct NIODNSResolverTests {
    static let bigTXT = (0..<12).map { "\"reason \($0) " + String(repeating: "x", count: 120) + "\"" }.joined(separator: " ")

    static func unbound() async throws -> UnboundServer {
        try await UnboundServer(zones: ["test", "in-addr.arpa"], records: [
            "host.test. 300 IN A 192.0.2.10",
            "host.test. 300 IN AAAA 2001:db8::10",
            "host.test. 300 IN MX 10 mx1.test.",
            "host.test. 300 IN MX 5 mx0.test.",
            "nullmx.test. 300 IN MX 0 .",
            "alias.test. 300 IN CNAME host.test.",
            "txt.test. 300 IN TXT \"first part\" \"second part\"",
            "big.test. 300 IN TXT \(bigTXT)",
            "10.2.0.192.in-addr.arpa. 300 IN PTR host.test.",
            "2.0.0.127.bl.test. 300 IN A 127.0.0.2",
        ])
    }

    /// Generous: these tests are about answers, and a loaded machine must not turn one slow
    /// reply into a timeout.
    func resolver(_ servers: [SocketAddress], timeout: Duration = .seconds(10)) -> NIODNSResolver {
        DNSResolverCore().resolver(DNSResolverConfiguration(servers: servers, timeout: timeout))
    }

    var later: ContinuousClock.Instant { .now + .seconds(30) }

    @Test func everyRecordType() async throws {
        let server = try await Self.unbound()
        defer { server.stop() }
        let dns = resolver([server.address])
        #expect(try await dns.lookup("host.test", .a, deadline: later) == [.a("192.0.2.10")])
        #expect(try await dns.lookup("HOST.test.", .aaaa, deadline: later) == [.aaaa("2001:db8::10")])
        #expect(try await dns.mx(of: "host.test", deadline: later).map(\.exchange) == ["mx0.test", "mx1.test"])
        #expect(try await dns.lookup("nullmx.test", .mx, deadline: later) == [.mx(preference: 0, exchange: "")])
        #expect(try await dns.lookup("alias.test", .a, deadline: later) == [.cname("host.test"), .a("192.0.2.10")])
        #expect(try await dns.txt(of: "txt.test", deadline: later) == ["first partsecond part"])
        #expect(try await dns.ptr(of: "192.0.2.10", deadline: later) == ["host.test"])
        #expect(try await dns.addresses(of: "host.test", deadline: later).sorted() == ["192.0.2.10", "2001:db8::10"])
    }

    @Test func negativeAnswers() async throws {
        let server = try await Self.unbound()
        defer { server.stop() }
        let dns = resolver([server.address])
        await #expect(throws: DNSError.nxdomain("missing.test")) { try await dns.lookup("missing.test", .a, deadline: later) }
        await #expect(throws: DNSError.noData("txt.test", .a)) { try await dns.lookup("txt.test", .a, deadline: later) }
        // Outside the test zones: the static root answers, nothing is asked of the internet.
        await #expect(throws: DNSError.nxdomain("example.com")) { try await dns.lookup("example.com", .a, deadline: later) }
        // A name DNS cannot hold does not exist; no query is sent.
        await #expect(throws: DNSError.nxdomain(String(repeating: "a", count: 64) + ".test")) {
            try await dns.lookup(String(repeating: "a", count: 64) + ".test", .a, deadline: later)
        }
    }

    @Test func largeAnswerComesOverTCP() async throws {
        let server = try await Self.unbound()
        defer { server.stop() }
        let texts = try await resolver([server.address]).txt(of: "big.test", deadline: later)
        #expect(texts.count == 1)
        #expect(texts[0].utf8.count > 1232)
        #expect(texts[0].hasPrefix("reason 0 "))
    }

    @Test func answersAndNegativeAnswersAreCached() async throws {
        let server = try await Self.unbound()
        let dns = resolver([server.address])
        _ = try await dns.lookup("host.test", .a, deadline: later)
        await #expect(throws: DNSError.nxdomain("missing.test")) { try await dns.lookup("missing.test", .a, deadline: later) }
        server.stop()
        // The server is gone: both come from the cache, at once.
        let started = ContinuousClock.now
        #expect(try await dns.lookup("host.test", .a, deadline: later) == [.a("192.0.2.10")])
        await #expect(throws: DNSError.nxdomain("missing.test")) { try await dns.lookup("missing.test", .a, deadline: later) }
        #expect(ContinuousClock.now - started < .milliseconds(100))
    }

    @Test func manyQueriesInFlight() async throws {
        let server = try await Self.unbound()
        defer { server.stop() }
        let dns = resolver([server.address])
        let names = (0..<300).map { "n\($0).bl.test" } + ["2.0.0.127.bl.test"]
        let listed = try await withThrowingTaskGroup(of: String?.self) { group in
            for name in names {
                group.addTask {
                    do {
                        _ = try await dns.lookup(name, .a, deadline: .now + .seconds(10))
                        return name
                    } catch DNSError.nxdomain {
                        return nil
                    }
                }
            }
            return try await group.reduce(into: [String]()) { if let name = $1 { $0.append(name) } }
        }
        #expect(listed == ["2.0.0.127.bl.test"])
    }
}
