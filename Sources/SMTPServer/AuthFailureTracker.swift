import Synchronization

/// Remembers failed AUTH attempts per client address for a while, so a password-guessing client
/// that reconnects after each refusal is still slowed down and then turned away.
public final class AuthFailureTracker: Sendable {
    public let window: Duration
    public let limit: Int
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    /// Addresses remembered at most; beyond it the oldest knowledge is dropped first.
    private let capacity = 50_000

    /// `limit` 0 turns per-address refusals off.
    public init(limit: Int, window: Duration = .seconds(600)) {
        self.limit = limit
        self.window = window
    }

    /// Failures from `ip` within the window.
    public func recentFailures(_ ip: String) -> Int {
        let now = ContinuousClock.now
        return failures.withLock { $0[ip]?.filter { now - $0 < window }.count ?? 0 }
    }

    public func isBlocked(_ ip: String) -> Bool {
        limit > 0 && recentFailures(ip) >= limit
    }

    public func recordFailure(_ ip: String) {
        let now = ContinuousClock.now
        failures.withLock { table in
            if table.count >= capacity {
                table = table.filter { $0.value.contains { now - $0 < window } }
                if table.count >= capacity { table.removeAll() }
            }
            var list = table[ip, default: []].filter { now - $0 < window }
            list.append(now)
            table[ip] = list
        }
    }
}
