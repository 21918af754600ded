import SMTPPluginAPI
import Synchronization

/// Answers kept for their TTL, negative ones too (RFC 2308), so a dnsbl zone is asked once per
/// client address rather than once per session. Bounded: when full, expired entries go first,
/// then those closest to expiry.
final class DNSAnswerCache: Sendable {
    /// What a lookup ended with: records, or the NXDOMAIN / no-data answer.
    enum Entry: Sendable, Equatable {
        case records([DNSRecord])
        case negative(DNSError)
    }

    private struct Key: Hashable {
        var name: String
        var type: DNSRecordType
    }

    private struct Stored {
        var entry: Entry
        var expires: ContinuousClock.Instant
    }

    /// unbound's defaults: a day for answers, an hour for negative ones.
    static let maximumTTL: UInt32 = 86_400
    static let maximumNegativeTTL: UInt32 = 3_600

    private let capacity: Int
    private let entries = Mutex<[Key: Stored]>([:])

    init(capacity: Int = 20_000) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.withLock { $0.count } }

    func get(_ name: String, _ type: DNSRecordType, now: ContinuousClock.Instant = .now) -> Entry? {
        let key = Key(name: name, type: type)
        return entries.withLock { entries -> Entry? in
            guard let stored = entries[key] else { return nil }
            guard stored.expires > now else {
                entries[key] = nil
                return nil
            }
            return stored.entry
        }
    }

    /// Stores `entry` for `ttl` seconds, capped; a TTL of 0 is not stored (RFC 1035 §3.2.1).
    func put(_ name: String, _ type: DNSRecordType, _ entry: Entry, ttl: UInt32, now: ContinuousClock.Instant = .now) {
        let cap: UInt32
        if case .negative = entry { cap = Self.maximumNegativeTTL } else { cap = Self.maximumTTL }
        let seconds = min(ttl, cap)
        guard seconds > 0 else { return }
        let key = Key(name: name, type: type)
        entries.withLock { entries in
            if entries[key] == nil && entries.count >= capacity {
                Self.makeRoom(in: &entries, capacity: capacity, now: now)
            }
            entries[key] = Stored(entry: entry, expires: now + .seconds(Int64(seconds)))
        }
    }

    /// Frees a tenth of the space at once, so a full cache does not scan on every insert.
    private static func makeRoom(in entries: inout [Key: Stored], capacity: Int, now: ContinuousClock.Instant) {
        entries = entries.filter { $0.value.expires > now }
        let target = capacity - max(1, capacity / 10)
        guard entries.count > target else { return }
        let soonest = entries.sorted { $0.value.expires < $1.value.expires }.prefix(entries.count - target)
        for (key, _) in soonest { entries[key] = nil }
    }
}
