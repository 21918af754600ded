/// Key–value state that outlives a connection (greylisting triplets, karma, rate counters).
/// Keys are shared by all plugins: prefix them with the plugin's name. An entry past its expiry
/// is gone. Values are text; counters are decimal integers.
public protocol StateStore: Sendable {
    func get(_ key: String) async throws -> String?
    /// Stores `value`; nil `expiresAfter` keeps it until removed (or evicted by a bounded store).
    func set(_ key: String, _ value: String, expiresAfter: Duration?) async throws
    /// Adds `delta` to the counter (a missing or non-numeric value counts as 0) and returns the new
    /// value. A given `expiresAfter` sets a new expiry; nil keeps the entry's current one.
    func increment(_ key: String, by delta: Int, expiresAfter: Duration?) async throws -> Int
    func remove(_ key: String) async throws
}

extension StateStore {
    public func set(_ key: String, _ value: String) async throws {
        try await set(key, value, expiresAfter: nil)
    }

    public func increment(_ key: String, by delta: Int = 1) async throws -> Int {
        try await increment(key, by: delta, expiresAfter: nil)
    }
}
