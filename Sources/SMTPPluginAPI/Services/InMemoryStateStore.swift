import Synchronization

/// A `StateStore` in memory: lost on restart, bounded to `capacity` entries. It needs no I/O, so
/// it lives beside the protocol and is the default store (for tests too, with a manual clock).
public final class InMemoryStateStore: StateStore {
    struct Entry {
        var value: String
        var expires: WallTime?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let clock: any PluginClock
    public let capacity: Int

    public init(capacity: Int = 100_000, clock: any PluginClock = SystemPluginClock()) {
        self.capacity = max(1, capacity)
        self.clock = clock
    }

    public var count: Int { entries.withLock { $0.count } }

    public func get(_ key: String) async throws -> String? {
        let now = clock.now
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if let expires = entry.expires, expires <= now {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    public func set(_ key: String, _ value: String, expiresAfter: Duration?) async throws {
        let now = clock.now
        entries.withLock { entries in
            store(&entries, key, Entry(value: value, expires: expiresAfter.map { now + $0 }), now: now)
        }
    }

    public func increment(_ key: String, by delta: Int, expiresAfter: Duration?) async throws -> Int {
        let now = clock.now
        return entries.withLock { entries in
            var entry = entries[key]
            if let expires = entry?.expires, expires <= now { entry = nil }
            let value = (entry.flatMap { Int($0.value) } ?? 0) &+ delta
            let expires = expiresAfter.map { now + $0 } ?? entry?.expires
            store(&entries, key, Entry(value: String(value), expires: expires), now: now)
            return value
        }
    }

    public func remove(_ key: String) async throws {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// Inserts, making room first when full: expired entries go, then the tenth of the entries
    /// that expire soonest (those without an expiry last). Evicting a batch keeps the O(n) scan
    /// rare instead of paying it on every insert into a full store.
    private func store(_ entries: inout [String: Entry], _ key: String, _ entry: Entry, now: WallTime) {
        if entries[key] == nil && entries.count >= capacity {
            entries = entries.filter { $0.value.expires.map { $0 > now } ?? true }
            if entries.count >= capacity {
                let victims = entries.sorted {
                    ($0.value.expires?.secondsSinceEpoch ?? .infinity) < ($1.value.expires?.secondsSinceEpoch ?? .infinity)
                }.prefix(max(1, capacity / 10))
                for victim in victims { entries[victim.key] = nil }
            }
        }
        entries[key] = entry
    }
}
