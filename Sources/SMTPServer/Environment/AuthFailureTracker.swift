public import SMTPCore
public import SMTPPluginAPI
import Synchronization

/// Failed AUTH attempts per client address and per account over a sliding window, shared by all
/// sessions: a guesser that reconnects after each refusal is still counted, and so is one that
/// spreads its guesses for one account over many addresses (as Postfix's anvil and Dovecot's auth
/// penalty do). Attempts still being checked count too: with a slow password hash, parallel
/// connections would otherwise all pass a check made before any of their failures is recorded.
/// With a `store`, failures also outlive a restart: each failure writes the key's list of
/// failure times there, and `recall` reads a key's list once per process before it is judged.
public final class AuthFailureTracker: Sendable {
    public struct Limits: Sendable {
        /// Failures plus attempts in flight allowed per address; 0 = no limit.
        public var perAddress: Int
        /// The same per account (the user name as given, case-insensitive); 0 = no limit.
        public var perAccount: Int

        public init(perAddress: Int, perAccount: Int) {
            self.perAddress = perAddress
            self.perAccount = perAccount
        }
    }

    public enum Refusal: Error, Sendable {
        case address
        case account
    }

    /// An admitted attempt; hand it back to `finish` whatever the outcome.
    public struct Ticket: Sendable {
        fileprivate let address: Key
        fileprivate let account: Key
    }

    fileprivate enum Key: Hashable, Sendable {
        case address(String)
        case account(String)

        var storeKey: String {
            switch self {
            case .address(let address): "auth_failures:address:\(address)"
            case .account(let account): "auth_failures:account:\(account)"
            }
        }
    }

    private struct Entry {
        var failures: [ContinuousClock.Instant] = []
        var inFlight = 0
        /// The store's failures from earlier processes have been added.
        var recalled = false
    }

    public let window: Duration
    private let table = Mutex<[Key: Entry]>([:])
    /// Keys remembered at most; beyond it, keys with nothing recent go first.
    private let capacity: Int

    private let store: (any StateStore)?
    private let wallClock: any PluginClock
    /// Failures stored before this moment are an earlier process's; later ones are in the table.
    private let started: WallTime

    public init(
        window: Duration = SMTPLimits.defaults.authFailureWindow, capacity: Int = SMTPLimits.defaults.authTrackerCapacity,
        store: (any StateStore)? = nil, wallClock: any PluginClock = SystemPluginClock()
    ) {
        self.window = window
        self.capacity = capacity
        self.store = store
        self.wallClock = wallClock
        started = wallClock.now
    }

    /// Adds the failures an earlier process stored for `address` (and `account`), once per key.
    /// Without a store, or when it fails, nothing is added: the limits then count this process only.
    public func recall(address: String, account: String? = nil) async {
        guard let store else { return }
        let keys = [Key.address(address)] + (account.map { [Key.account($0.lowercased())] } ?? [])
        for key in keys where table.withLock({ $0[key]?.recalled != true }) {
            let stored = (try? await store.get(key.storeKey)) ?? nil
            let wallNow = wallClock.now
            let now = ContinuousClock.now
            let earlier = (stored ?? "").split(separator: " ").compactMap { Double($0) }.compactMap { seconds -> ContinuousClock.Instant? in
                let time = WallTime(secondsSinceEpoch: seconds)
                let age = wallNow - time
                guard time < started, age >= .zero, age < window else { return nil }
                return now - age
            }
            table.withLock { table in
                var entry = table[key, default: Entry()]
                guard !entry.recalled else { return }
                entry.recalled = true
                entry.failures = (earlier + entry.failures).sorted()
                table[key] = entry
            }
        }
    }

    /// True when `address` may not even start an attempt.
    public func isBlocked(address: String, limits: Limits) -> Bool {
        let now = ContinuousClock.now
        return table.withLock { over(limits.perAddress, $0[.address(address)], now) }
    }

    /// Admits an attempt for `account` from `address`, counting it as in flight, or says which limit is reached.
    public func begin(address: String, account: String, limits: Limits) -> Result<Ticket, Refusal> {
        let now = ContinuousClock.now
        let ticket = Ticket(address: .address(address), account: .account(account.lowercased()))
        return table.withLock { table in
            if over(limits.perAddress, table[ticket.address], now) { return .failure(.address) }
            if over(limits.perAccount, table[ticket.account], now) { return .failure(.account) }
            if table.count >= capacity { prune(&table, now) }
            table[ticket.address, default: Entry()].inFlight += 1
            table[ticket.account, default: Entry()].inFlight += 1
            return .success(ticket)
        }
    }

    /// The attempt is over; a failure is remembered for the window.
    public func finish(_ ticket: Ticket, failed: Bool) {
        let now = ContinuousClock.now
        let snapshots = table.withLock { table in
            var snapshots: [(Key, [ContinuousClock.Instant])] = []
            for key in [ticket.address, ticket.account] {
                var entry = table[key, default: Entry()]
                entry.inFlight = max(0, entry.inFlight - 1)
                entry.failures.removeAll { now - $0 >= window }
                if failed { entry.failures.append(now) }
                table[key] = entry.inFlight == 0 && entry.failures.isEmpty ? nil : entry
                snapshots.append((key, entry.failures))
            }
            return snapshots
        }
        if failed, let store { persist(snapshots, to: store, now: now) }
    }

    /// Writes each key's failure times (seconds since 1970) to the store, expiring with the window.
    /// In a task of its own: the session does not wait for the disk.
    private func persist(_ snapshots: [(Key, [ContinuousClock.Instant])], to store: any StateStore, now: ContinuousClock.Instant) {
        let wallNow = wallClock.now
        let window = window
        let rows = snapshots.map { key, failures in
            (key.storeKey, failures.map { String((wallNow + (($0 - now))).secondsSinceEpoch) }.joined(separator: " "))
        }
        Task {
            for (key, text) in rows { try? await store.set(key, text, expiresAfter: window) }
        }
    }

    /// Failures within the window from `address`, for tests and logs.
    public func recentFailures(address: String) -> Int {
        let now = ContinuousClock.now
        return table.withLock { $0[.address(address)]?.failures.filter { now - $0 < window }.count ?? 0 }
    }

    private func over(_ limit: Int, _ entry: Entry?, _ now: ContinuousClock.Instant) -> Bool {
        guard limit > 0, let entry else { return false }
        return entry.failures.filter { now - $0 < window }.count + entry.inFlight >= limit
    }

    private func prune(_ table: inout [Key: Entry], _ now: ContinuousClock.Instant) {
        table = table.filter { $0.value.inFlight > 0 || $0.value.failures.contains { now - $0 < window } }
        // Still full of live entries: drop failure memory rather than grow without bound.
        if table.count >= capacity { table = table.filter { $0.value.inFlight > 0 } }
    }
}
