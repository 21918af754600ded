import Synchronization

/// Counts open connections, in all and per client address, so that one client (or a flood) cannot
/// take every slot. Checked at accept, before any plugin runs.
public final class ConnectionLimiter: Sendable {
    public let maxConnections: Int
    public let maxPerIP: Int
    private let counts = Mutex<(total: Int, perIP: [String: Int])>((0, [:]))

    /// 0 means no limit.
    public init(maxConnections: Int, maxPerIP: Int) {
        self.maxConnections = maxConnections
        self.maxPerIP = maxPerIP
    }

    public enum Refusal: Sendable { case tooManyConnections, tooManyFromAddress }

    /// Takes a slot for `ip`, or says why not.
    public func acquire(_ ip: String) -> Refusal? {
        counts.withLock { state in
            if maxConnections > 0 && state.total >= maxConnections { return .tooManyConnections }
            let current = state.perIP[ip, default: 0]
            if maxPerIP > 0 && current >= maxPerIP { return .tooManyFromAddress }
            state.total += 1
            state.perIP[ip] = current + 1
            return nil
        }
    }

    public func release(_ ip: String) {
        counts.withLock { state in
            state.total -= 1
            let left = state.perIP[ip, default: 1] - 1
            state.perIP[ip] = left > 0 ? left : nil
        }
    }

    public var openConnections: Int { counts.withLock { $0.total } }
}
