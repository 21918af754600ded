import DNSWire
import NIOCore
import SMTPPluginAPI
@testable import SMTPServices
import Testing

/// The resolver's pure parts: reading an answer, the cache, server health.
@Suite struct DNSResolverPartsTests {
    let start = ContinuousClock.now

    func response(_ answers: [DNSResourceRecord], authorities: [DNSResourceRecord] = [], rcode: UInt16 = DNSRCode.noError) -> DNSMessage {
        DNSMessage(header: DNSHeader(id: 1, isResponse: true, rcode: rcode), questions: [DNSQuestion(name: "www.test", type: DNSType.a)], answers: answers, authorities: authorities)
    }

    let soa = DNSResourceRecord(name: "test", type: DNSType.soa, ttl: 3600, data: .soa(mname: "ns.test", rname: "hostmaster.test", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60))

    @Test func followsCNAMEChainInTheAnswer() {
        let message = response([
            DNSResourceRecord(name: "www.test", type: DNSType.cname, ttl: 300, data: .cname("edge.test")),
            DNSResourceRecord(name: "edge.test", type: DNSType.cname, ttl: 100, data: .cname("host.test")),
            DNSResourceRecord(name: "host.test", type: DNSType.a, ttl: 200, data: .a("192.0.2.7")),
            DNSResourceRecord(name: "other.test", type: DNSType.a, ttl: 5, data: .a("192.0.2.99")),
        ])
        #expect(DNSAnswerReader.read(message, name: "www.test", type: .a) == .records([.cname("edge.test"), .cname("host.test"), .a("192.0.2.7")], ttl: 100))
    }

    @Test func chainLeavingTheAnswerAsksAgain() {
        let message = response([DNSResourceRecord(name: "www.test", type: DNSType.cname, ttl: 300, data: .cname("elsewhere.example"))])
        #expect(DNSAnswerReader.read(message, name: "www.test", type: .a) == .alias(chain: [.cname("elsewhere.example")], target: "elsewhere.example", ttl: 300))
    }

    @Test func cnameLoopEnds() {
        let message = response([
            DNSResourceRecord(name: "www.test", type: DNSType.cname, ttl: 300, data: .cname("loop.test")),
            DNSResourceRecord(name: "loop.test", type: DNSType.cname, ttl: 300, data: .cname("www.test")),
        ])
        if case .records = DNSAnswerReader.read(message, name: "www.test", type: .a) { Issue.record("a loop has no records") }
    }

    @Test func negativeAnswersTakeTheSOAMinimum() {
        #expect(DNSAnswerReader.read(response([], authorities: [soa], rcode: DNSRCode.nxDomain), name: "www.test", type: .a) == .negative(.nxdomain("www.test"), ttl: 60))
        #expect(DNSAnswerReader.read(response([], authorities: [soa]), name: "www.test", type: .a) == .negative(.noData("www.test", .a), ttl: 60))
        #expect(DNSAnswerReader.read(response([], rcode: DNSRCode.nxDomain), name: "www.test", type: .a) == .negative(.nxdomain("www.test"), ttl: nil))
    }

    @Test func serverFailuresSayNothing() {
        guard case .failure(let why) = DNSAnswerReader.read(response([], rcode: DNSRCode.servFail), name: "www.test", type: .a) else {
            Issue.record("SERVFAIL must be a failure")
            return
        }
        #expect(why.contains("SERVFAIL"))
    }

    @Test func txtStringsJoinAndMXKeepsNullExchange() {
        let txt = DNSMessage(header: DNSHeader(id: 1, isResponse: true), questions: [DNSQuestion(name: "t.test", type: DNSType.txt)],
                             answers: [DNSResourceRecord(name: "t.test", type: DNSType.txt, ttl: 10, data: .txt(["v=spf1 ", "-all"]))])
        #expect(DNSAnswerReader.read(txt, name: "t.test", type: .txt) == .records([.txt("v=spf1 -all")], ttl: 10))
        let mx = DNSMessage(header: DNSHeader(id: 1, isResponse: true), questions: [DNSQuestion(name: "m.test", type: DNSType.mx)],
                            answers: [DNSResourceRecord(name: "m.test", type: DNSType.mx, ttl: 10, data: .mx(preference: 0, exchange: ""))])
        #expect(DNSAnswerReader.read(mx, name: "m.test", type: .mx) == .records([.mx(preference: 0, exchange: "")], ttl: 10))
    }

    @Test func hostileNamesAndTextsAreMadeHarmless() {
        let message = DNSMessage(header: DNSHeader(id: 1, isResponse: true), questions: [DNSQuestion(name: "1.2.0.192.in-addr.arpa", type: DNSType.ptr)], answers: [
            DNSResourceRecord(name: "1.2.0.192.in-addr.arpa", type: DNSType.ptr, ttl: 10, data: .ptr("evil.test\r\nx-injected: yes")),
            DNSResourceRecord(name: "1.2.0.192.in-addr.arpa", type: DNSType.ptr, ttl: 10, data: .ptr("good.test")),
        ])
        #expect(DNSAnswerReader.read(message, name: "1.2.0.192.in-addr.arpa", type: .ptr) == .records([.ptr("good.test")], ttl: 10))
        let txt = DNSMessage(header: DNSHeader(id: 1, isResponse: true), questions: [DNSQuestion(name: "t.test", type: DNSType.txt)],
                             answers: [DNSResourceRecord(name: "t.test", type: DNSType.txt, ttl: 10, data: .txt(["listed\r\n250 fake"]))])
        #expect(DNSAnswerReader.read(txt, name: "t.test", type: .txt) == .records([.txt("listed  250 fake")], ttl: 10))
    }

    @Test func cacheHonoursTTLAndCaps() {
        let cache = DNSAnswerCache(capacity: 100)
        cache.put("a.test", .a, .records([.a("192.0.2.1")]), ttl: 30, now: start)
        #expect(cache.get("a.test", .a, now: start + .seconds(29)) == .records([.a("192.0.2.1")]))
        #expect(cache.get("a.test", .a, now: start + .seconds(30)) == nil)
        cache.put("zero.test", .a, .records([.a("192.0.2.1")]), ttl: 0, now: start)
        #expect(cache.get("zero.test", .a, now: start) == nil)
        cache.put("long.test", .a, .negative(.nxdomain("long.test")), ttl: 999_999, now: start)
        #expect(cache.get("long.test", .a, now: start + .seconds(3599)) == .negative(.nxdomain("long.test")))
        #expect(cache.get("long.test", .a, now: start + .seconds(3600)) == nil)
    }

    @Test func fullCacheDropsWhatExpiresFirst() {
        let cache = DNSAnswerCache(capacity: 10)
        for i in 0..<10 {
            cache.put("n\(i).test", .a, .records([.a("192.0.2.\(i)")]), ttl: UInt32(100 + i), now: start)
        }
        cache.put("new.test", .a, .records([.a("192.0.2.200")]), ttl: 50, now: start)
        #expect(cache.count <= 10)
        #expect(cache.get("new.test", .a, now: start) != nil)
        #expect(cache.get("n0.test", .a, now: start) == nil)
        #expect(cache.get("n9.test", .a, now: start) != nil)
    }

    @Test func silentServerIsHeldDownThenProbed() {
        let health = DNSServerHealth()
        let server = try! SocketAddress(ipAddress: "192.0.2.53", port: 53)
        health.missed(server, sentAt: start, now: start)
        #expect(health.isUsable(server, now: start))
        health.missed(server, sentAt: start, now: start)
        #expect(!health.isUsable(server, now: start + .seconds(29)))
        #expect(health.isUsable(server, now: start + .seconds(30)))
        // Tries that were in flight while it was down do not count again.
        health.missed(server, sentAt: start, now: start + .seconds(1))
        // One silent probe puts it back down, for longer.
        health.missed(server, sentAt: start + .seconds(30), now: start + .seconds(31))
        #expect(!health.isUsable(server, now: start + .seconds(90)))
        #expect(health.isUsable(server, now: start + .seconds(91)))
        health.answered(server, now: start + .seconds(32))
        #expect(health.isUsable(server, now: start + .seconds(32)))
    }

    @Test func aServerAnsweringOtherQueriesIsNotPutDown() {
        let health = DNSServerHealth()
        let server = try! SocketAddress(ipAddress: "192.0.2.53", port: 53)
        // Two queries sent at 0 s go unanswered, but the server answered another at 1 s.
        health.answered(server, now: start + .seconds(1))
        health.missed(server, sentAt: start, now: start + .seconds(2))
        health.missed(server, sentAt: start, now: start + .seconds(2))
        #expect(health.isUsable(server, now: start + .seconds(3)))
        // Silence since the last answer does count.
        health.missed(server, sentAt: start + .seconds(5), now: start + .seconds(7))
        health.missed(server, sentAt: start + .seconds(5), now: start + .seconds(7))
        #expect(!health.isUsable(server, now: start + .seconds(8)))
    }
}
