import DNSWire
import NIOCore
import SMTPPluginAPI
import SMTPServices
import Testing

/// Servers that do not answer, answer garbage, forge answers or always truncate: every lookup
/// still ends by `dns_timeout`, and a silent server is not waited on again.
@Suite struct HostileDNSServerTests {
    func resolver(_ servers: [SocketAddress], timeout: Duration = .seconds(1)) -> NIODNSResolver {
        DNSResolverCore().resolver(DNSResolverConfiguration(servers: servers, timeout: timeout))
    }

    let answer = DNSResourceRecord(name: "host.test", type: DNSType.a, ttl: 300, data: .a("192.0.2.10"))

    /// How long `body` took, and what it threw.
    func timed(_ body: () async throws -> [DNSRecord]) async -> (Duration, (any Error)?) {
        let started = ContinuousClock.now
        do {
            _ = try await body()
            return (ContinuousClock.now - started, nil)
        } catch {
            return (ContinuousClock.now - started, error)
        }
    }

    /// Bounds here are wide on purpose: the whole suite runs in parallel on two cores, where a
    /// task may wait a second for a thread. What they tell apart is "dns_timeout once, then at
    /// once" from "dns_timeout every time".
    @Test func silentServerCostsOneTimeoutThenFailsFast() async throws {
        let server = try await FakeDNSServer(respond: FakeDNSServer.silent)
        defer { Task { await server.stop() } }
        let dns = resolver([server.address], timeout: .seconds(2))
        let (first, firstError) = await timed { try await dns.lookup("host.test", .a, deadline: .now + .seconds(30)) }
        #expect(firstError as? DNSError == .timeout)
        #expect(first >= .milliseconds(1900) && first < .milliseconds(3500), "\(first)")
        let asked = server.queries
        #expect((1...2).contains(asked))
        // Remembered: the next lookups fail at once without asking it.
        let (second, secondError) = await timed { try await dns.lookup("other.test", .txt, deadline: .now + .seconds(30)) }
        #expect(secondError as? DNSError == .timeout)
        #expect(second < .milliseconds(1000), "\(second)")
        #expect(server.queries == asked)
    }

    @Test func parallelLookupsToASilentServerEndTogether() async throws {
        let server = try await FakeDNSServer(respond: FakeDNSServer.silent)
        defer { Task { await server.stop() } }
        let dns = resolver([server.address], timeout: .seconds(4))
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for zone in ["a.test", "b.test", "c.test", "d.test"] {
                group.addTask { _ = try? await dns.lookup("2.0.0.127." + zone, .a, deadline: .now + .seconds(30)) }
            }
        }
        // Each first try has half of dns_timeout; when their misses put the server down, a
        // lookup that already sent its second try gives up too instead of waiting again.
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(1900) && elapsed < .milliseconds(3200), "\(elapsed)")
    }

    @Test func callerDeadlineComesFirst() async throws {
        let server = try await FakeDNSServer(respond: FakeDNSServer.silent)
        defer { Task { await server.stop() } }
        let dns = resolver([server.address], timeout: .seconds(20))
        let hookDeadline = ContinuousClock.now + .seconds(3)
        let (elapsed, error) = await timed { try await dns.lookup("host.test", .a, deadline: hookDeadline) }
        #expect(error as? DNSError == .timeout)
        // Its timer fires 0.1 s before the hook's deadline (2.9 s in), long before dns_timeout
        // (20 s); the upper bound leaves a loaded machine room for scheduling.
        #expect(elapsed >= .milliseconds(2850) && elapsed < .seconds(6), "\(elapsed)")
    }

    @Test func garbageAndForgeriesAreIgnored() async throws {
        let answer = self.answer
        let server = try await FakeDNSServer(respond: { query in
            [
                [0xde, 0xad, 0xbe, 0xef],
                Array(repeating: 0xff, count: 600),
                // Right question, wrong id; right id, other question: both forged.
                FakeDNSServer.reply(to: query, answers: [DNSResourceRecord(name: "host.test", type: DNSType.a, ttl: 300, data: .a("203.0.113.66"))], id: query.header.id &+ 1),
                FakeDNSServer.reply(to: query, answers: [DNSResourceRecord(name: "evil.test", type: DNSType.a, ttl: 300, data: .a("203.0.113.66"))], question: DNSQuestion(name: "evil.test", type: DNSType.a)),
                FakeDNSServer.reply(to: query, answers: [answer]),
            ]
        })
        defer { Task { await server.stop() } }
        #expect(try await resolver([server.address], timeout: .seconds(10)).lookup("host.test", .a, deadline: .now + .seconds(30)) == [.a("192.0.2.10")])
    }

    @Test func onlyGarbageIsLikeSilence() async throws {
        let server = try await FakeDNSServer(respond: { query in [[UInt8](repeating: 0x41, count: 40), Array(FakeDNSServer.reply(to: query).prefix(15))] })
        defer { Task { await server.stop() } }
        let (elapsed, error) = await timed { try await resolver([server.address]).lookup("host.test", .a, deadline: .now + .seconds(30)) }
        #expect(error as? DNSError == .timeout)
        #expect(elapsed < .milliseconds(1500), "\(elapsed)")
    }

    @Test func truncatedOverUDPIsAskedAgainOverTCP() async throws {
        let answer = self.answer
        let server = try await FakeDNSServer(
            respond: { [FakeDNSServer.reply(to: $0, truncated: true)] },
            tcpRespond: { [FakeDNSServer.reply(to: $0, answers: [answer])] })
        defer { Task { await server.stop() } }
        // A generous timeout: on a loaded machine a first try cut short would be asked again.
        #expect(try await resolver([server.address], timeout: .seconds(10)).lookup("host.test", .a, deadline: .now + .seconds(30)) == [.a("192.0.2.10")])
        #expect(server.queries == 2)
    }

    @Test func alwaysTruncatingServerFailsInTime() async throws {
        let truncated: FakeDNSServer.Responder = { [FakeDNSServer.reply(to: $0, truncated: true)] }
        for tcp in [nil, truncated] {
            let server = try await FakeDNSServer(respond: truncated, tcpRespond: tcp)
            let (elapsed, error) = await timed { try await resolver([server.address]).lookup("host.test", .a, deadline: .now + .seconds(30)) }
            await server.stop()
            // Never mistaken for "no such records": a failure, which plugins treat as such.
            switch error as? DNSError {
            case .serverFailure?, .timeout?: break
            default: Issue.record("expected a failure, got \(String(describing: error))")
            }
            #expect(elapsed < .milliseconds(1500), "\(elapsed)")
        }
    }

    @Test func servfailMovesToTheNextServer() async throws {
        let answer = self.answer
        let failing = try await FakeDNSServer(respond: { [FakeDNSServer.reply(to: $0, rcode: DNSRCode.servFail)] })
        let working = try await FakeDNSServer(respond: { [FakeDNSServer.reply(to: $0, answers: [answer])] })
        defer { Task { await failing.stop(); await working.stop() } }
        #expect(try await resolver([failing.address, working.address], timeout: .seconds(10)).lookup("host.test", .a, deadline: .now + .seconds(30)) == [.a("192.0.2.10")])
        await #expect(throws: DNSError.self) { try await resolver([failing.address]).lookup("host.test", .a, deadline: .now + .seconds(30)) }
    }

    @Test func silentFirstServerThenAWorkingOne() async throws {
        let answer = self.answer
        let silent = try await FakeDNSServer(respond: FakeDNSServer.silent)
        let working = try await FakeDNSServer(respond: { [FakeDNSServer.reply(to: $0, answers: [answer])] })
        defer { Task { await silent.stop(); await working.stop() } }
        let dns = resolver([silent.address, working.address], timeout: .seconds(10))
        #expect(try await dns.lookup("host.test", .a, deadline: .now + .seconds(30)) == [.a("192.0.2.10")])
    }
}
