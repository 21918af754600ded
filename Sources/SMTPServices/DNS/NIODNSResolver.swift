import DNSWire
public import NIOCore
public import NIOPosix
public import SMTPPluginAPI

/// What every resolver the process makes shares: the sockets, the answer cache and what is known
/// about each server's health. Made once per process (DaemonResources); each config load gets a
/// resolver with that load's servers and timeout over it.
public final class DNSResolverCore: Sendable {
    let transport: DNSTransport
    let cache: DNSAnswerCache
    let health = DNSServerHealth()

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, cacheCapacity: Int = 20_000) {
        transport = DNSTransport(group: group)
        cache = DNSAnswerCache(capacity: cacheCapacity)
    }

    public func resolver(_ configuration: DNSResolverConfiguration) -> NIODNSResolver {
        NIODNSResolver(configuration: configuration, core: self)
    }
}

/// The plugins' DNS resolver, a stub resolver over SwiftNIO: asks the configured recursive
/// servers (UDP with EDNS0, TCP when truncated), follows CNAME chains, caches answers for their
/// TTL and NXDOMAIN / no-data for the SOA's negative TTL, and ends every lookup by the earlier
/// of `dns_timeout` and the caller's deadline (less a margin, so the hook still has time to
/// answer).
public struct NIODNSResolver: DNSResolver {
    public let configuration: DNSResolverConfiguration
    let core: DNSResolverCore

    /// Time kept back from the hook's deadline for the plugin to act on the failure.
    static let deadlineMargin: Duration = .milliseconds(100)
    /// Queries one lookup may make to follow CNAMEs the server left out of its answer.
    static let maximumAliasQueries = 4

    public func lookup(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) async throws -> [DNSRecord] {
        let name = Self.normalized(name)
        let end = min(deadline - Self.deadlineMargin, .now + configuration.timeout)
        // A name no DNS server can hold (a label over 63 octets, an empty label) does not exist.
        guard (try? DNSWire.query(id: 0, name: name, type: DNSAnswerReader.typeNumber(type))) != nil else {
            throw DNSError.nxdomain(name)
        }
        if let cached = core.cache.get(name, type) {
            return try Self.unwrap(cached)
        }
        var chain: [DNSRecord] = []
        var owner = name
        for _ in 0...Self.maximumAliasQueries {
            let message = try await exchange(DNSQuestion(name: owner, type: DNSAnswerReader.typeNumber(type)), until: end)
            switch DNSAnswerReader.read(message, name: owner, type: type) {
            case .records(let records, let ttl):
                let all = chain + records
                core.cache.put(name, type, .records(all), ttl: ttl)
                return all
            case .negative(let error, let ttl):
                let answer = Self.renamed(error, to: name)
                if let ttl { core.cache.put(name, type, .negative(answer), ttl: ttl) }
                throw answer
            case .alias(let more, let target, _):
                chain += more
                owner = target
            case .failure(let why):
                throw DNSError.serverFailure(why)
            }
        }
        throw DNSError.serverFailure("CNAME chain from \(name) too long")
    }

    /// One question asked of the servers in turn, `attempts` rounds, until an answer comes or
    /// `end` passes. Servers known to be silent are skipped; when none is left the lookup fails
    /// at once instead of waiting on them again.
    private func exchange(_ question: DNSQuestion, until end: ContinuousClock.Instant) async throws -> DNSMessage {
        let servers = configuration.servers
        guard !servers.isEmpty else { throw DNSError.notConfigured }
        let tries = servers.count * configuration.attempts
        // Each try gets an equal share of the lookup's time, and no more than resolv.conf allows.
        let share = min(configuration.tryTimeout, (end - .now) / tries)
        var lastError = DNSError.timeout
        for attempt in 0..<tries {
            let server = servers[attempt % servers.count]
            guard core.health.isUsable(server) else { continue }
            let now = ContinuousClock.now
            guard now < end else { break }
            try Task.checkCancellation()
            let tryEnd = attempt == tries - 1 ? end : min(end, now + share)
            do {
                let health = core.health
                let message = try await core.transport.ask(question, of: server, until: tryEnd, serverUsable: { health.isUsable(server) })
                core.health.answered(server)
                let rcode = message.header.rcode
                if rcode == DNSRCode.noError || rcode == DNSRCode.nxDomain {
                    return message
                }
                // SERVFAIL, REFUSED...: another server may know better.
                lastError = .serverFailure("\(server) answered \(DNSAnswerReader.rcodeName(rcode)) for \(question.name)")
            } catch DNSTryError.cancelled {
                throw CancellationError()
            } catch DNSTryError.unusable(let why) {
                serverMissed(server, sentAt: now)
                lastError = .serverFailure(why)
            } catch {
                // Silence (or only garbage) until the try's end.
                serverMissed(server, sentAt: now)
            }
        }
        throw lastError
    }

    /// When this miss puts the server down, the tries other lookups still have in flight to it
    /// give up now rather than each waiting out its own timeout.
    private func serverMissed(_ server: SocketAddress, sentAt: ContinuousClock.Instant) {
        if core.health.missed(server, sentAt: sentAt) {
            core.transport.abandon(server)
        }
    }

    private static func unwrap(_ entry: DNSAnswerCache.Entry) throws -> [DNSRecord] {
        switch entry {
        case .records(let records): return records
        case .negative(let error): throw error
        }
    }

    /// Negative answers name what the caller asked for, not the end of a CNAME chain.
    private static func renamed(_ error: DNSError, to name: String) -> DNSError {
        switch error {
        case .nxdomain: return .nxdomain(name)
        case .noData(_, let type): return .noData(name, type)
        default: return error
        }
    }

    static func normalized(_ name: String) -> String {
        (name.hasSuffix(".") ? String(name.dropLast()) : name).lowercased()
    }
}
