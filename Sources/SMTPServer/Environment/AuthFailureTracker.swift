public import SMTPCore
import Synchronization

/// Failed AUTH attempts per client address and per account over a sliding window, shared by all
/// sessions: a guesser that reconnects after each refusal is still counted, and so is one that
/// spreads its guesses for one account over many addresses (as Postfix's anvil and Dovecot's auth
/// penalty do). Attempts still being checked count too: with a slow password hash, parallel
/// connections would otherwise all pass a check made before any of their failures is recorded.
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
    }

    private struct Entry {
        var failures: [ContinuousClock.Instant] = []
        var inFlight = 0
    }

    public let window: Duration
    private let table = Mutex<[Key: Entry]>([:])
    /// Keys remembered at most; beyond it, keys with nothing recent go first.
    private let capacity: Int

    public init(window: Duration = SMTPLimits.defaults.authFailureWindow, capacity: Int = SMTPLimits.defaults.authTrackerCapacity) {
        self.window = window
        self.capacity = capacity
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
        table.withLock { table in
            for key in [ticket.address, ticket.account] {
                var entry = table[key, default: Entry()]
                entry.inFlight = max(0, entry.inFlight - 1)
                entry.failures.removeAll { now - $0 >= window }
                if failed { entry.failures.append(now) }
                table[key] = entry.inFlight == 0 && entry.failures.isEmpty ? nil : entry
            }
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
