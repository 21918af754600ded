public import SMTPCore
import Synchronization

/// Counts open connections, in all and per client address, so that one client (or a flood) cannot
/// take every slot. Checked at accept, before any plugin runs.
public final class ConnectionLimiter: Sendable {
    public let maxConnections: Int
    public let maxPerIP: Int
    private let counts = Mutex<(total: Int, perIP: [String: Int])>((0, [:]))
    /// The total again, readable without the lock: every reply asks `isUnderStress`.
    private let open = Atomic<Int>(0)

    /// Percentage of `maxConnections` in use above which the server is under stress.
    public let stressThreshold: Int

    /// 0 means no limit. `stressThreshold` 0 (or no `maxConnections`) never declares stress.
    public init(maxConnections: Int, maxPerIP: Int, stressThreshold: Int = SMTPLimits.defaults.stressThreshold) {
        self.maxConnections = maxConnections
        self.maxPerIP = maxPerIP
        self.stressThreshold = stressThreshold
    }

    /// More than `stressThreshold` percent of the slots are taken: sessions get the short
    /// stress timeout, so idle clients cannot crowd out the ones with mail to send.
    public var isUnderStress: Bool {
        guard maxConnections > 0, stressThreshold > 0 else { return false }
        return open.load(ordering: .relaxed) * 100 > maxConnections * stressThreshold
    }

    public enum Refusal: Sendable { case tooManyConnections, tooManyFromAddress }

    /// Takes a slot for `ip`, or says why not.
    public func acquire(_ ip: String) -> Refusal? {
        acquire(ip, enforcingPerAddressLimit: true).refusal
    }

    /// Takes a slot for `ip`, or says why not; with the slot, how many connections are open from
    /// `ip`, this one included, counted in the same step (what `hosts_allow` compares). Without
    /// `enforcingPerAddressLimit` only the total is refused: a plugin enforces `maxPerIP`.
    public func acquire(_ ip: String, enforcingPerAddressLimit: Bool) -> (refusal: Refusal?, fromAddress: Int) {
        counts.withLock { state in
            let current = state.perIP[ip, default: 0]
            if maxConnections > 0 && state.total >= maxConnections { return (.tooManyConnections, current) }
            if enforcingPerAddressLimit && maxPerIP > 0 && current >= maxPerIP { return (.tooManyFromAddress, current) }
            state.total += 1
            state.perIP[ip] = current + 1
            open.store(state.total, ordering: .relaxed)
            return (nil, current + 1)
        }
    }

    public func release(_ ip: String) {
        counts.withLock { state in
            state.total -= 1
            open.store(state.total, ordering: .relaxed)
            let left = state.perIP[ip, default: 1] - 1
            state.perIP[ip] = left > 0 ? left : nil
        }
    }

    public var openConnections: Int { counts.withLock { $0.total } }
}
