public import SMTPPluginAPI
import Synchronization

/// A resolver that answers what the test programmed: records per name and type, or an error.
/// A name never programmed is NXDOMAIN; a programmed name without the asked type has no data.
///
///     let dns = StubDNSResolver()
///     dns.set("2.0.0.127.zen.example", .a, [.a("127.0.0.2")])
///     dns.fail("slow.example", .txt, with: .timeout)
public final class StubDNSResolver: DNSResolver {
    private enum Answer {
        case records([DNSRecord])
        case error(DNSError)
    }

    private let answers = Mutex<[String: [DNSRecordType: Answer]]>([:])
    private let asked = Mutex<[(String, DNSRecordType)]>([])

    public init() {}

    public func set(_ name: String, _ type: DNSRecordType, _ records: [DNSRecord]) {
        answers.withLock { $0[Self.key(name), default: [:]][type] = .records(records) }
    }

    public func fail(_ name: String, _ type: DNSRecordType, with error: DNSError) {
        answers.withLock { $0[Self.key(name), default: [:]][type] = .error(error) }
    }

    /// Every lookup so far, in order.
    public var queries: [(name: String, type: DNSRecordType)] { asked.withLock { $0 } }

    public func lookup(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) async throws -> [DNSRecord] {
        asked.withLock { $0.append((name, type)) }
        let key = Self.key(name)
        let answer = answers.withLock { answers -> Answer? in
            guard let byType = answers[key] else { return .error(.nxdomain(key)) }
            return byType[type]
        }
        switch answer {
        case .records(let records)?: return records
        case .error(let error)?: throw error
        case nil: throw DNSError.noData(key, type)
        }
    }

    /// DNS names compare without case and without the root's dot.
    private static func key(_ name: String) -> String {
        (name.hasSuffix(".") ? String(name.dropLast()) : name).lowercased()
    }
}
