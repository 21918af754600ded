import Synchronization

/// Idle downstream connections kept for the next message, so a busy front door does not pay
/// connect, greeting, EHLO and TLS per message. A connection goes back only when its last
/// transaction ended cleanly (final reply read, or RSET answered); the next user sends RSET
/// first, which also proves the connection is still alive.
final class DownstreamPool: Sendable {
    /// Most idle connections kept; one more is closed when returned.
    let capacity: Int
    /// How long a connection may sit idle. Well below the 5 minutes after which Postfix's
    /// `smtpd_timeout` and Exim's `smtp_receive_timeout` hang up on a silent client.
    let idleTimeout: Duration

    private struct Idle {
        var connection: DownstreamConnection
        var since: ContinuousClock.Instant
    }

    private struct State {
        var idle: [Idle] = []
        /// A task is waiting to close connections whose idle time is up.
        var reaping = false
    }

    private let state = Mutex(State())

    init(capacity: Int = 4, idleTimeout: Duration = .seconds(30)) {
        self.capacity = capacity
        self.idleTimeout = idleTimeout
    }

    /// The most recently returned connection that has not been idle too long; nil when none.
    func take() async -> DownstreamConnection? {
        let (fresh, stale) = state.withLock { state -> (DownstreamConnection?, [DownstreamConnection]) in
            let expired = removeExpired(&state.idle)
            return (state.idle.popLast()?.connection, expired)
        }
        for connection in stale { await connection.close() }
        return fresh
    }

    /// Keeps `connection` for the next message, closing whatever no longer fits. If nobody takes
    /// it, it is closed once its idle time is up: the downstream should not hold a session for a
    /// client that has gone quiet, and a pool left behind by a reload empties itself.
    func put(_ connection: DownstreamConnection) async {
        let (surplus, startReaper) = state.withLock { state -> ([DownstreamConnection], Bool) in
            var closing = removeExpired(&state.idle)
            state.idle.append(Idle(connection: connection, since: .now))
            while state.idle.count > capacity { closing.append(state.idle.removeFirst().connection) }
            defer { state.reaping = true }
            return (closing, !state.reaping)
        }
        for connection in surplus { await connection.close() }
        if startReaper {
            Task { [self] in await reap() }
        }
    }

    /// How many wait now (for tests and logs).
    var count: Int { state.withLock { $0.idle.count } }

    /// One task per pool while connections wait: sleeps until the oldest one's idle time is up,
    /// closes what expired, and ends when the pool is empty.
    private func reap() async {
        var wake = ContinuousClock.now.advanced(by: idleTimeout)
        while true {
            try? await Task.sleep(until: wake, clock: .continuous)
            let (expired, next) = state.withLock { state -> ([DownstreamConnection], ContinuousClock.Instant?) in
                let expired = removeExpired(&state.idle)
                guard let oldest = state.idle.first else {
                    state.reaping = false
                    return (expired, nil)
                }
                return (expired, oldest.since.advanced(by: idleTimeout))
            }
            for connection in expired { await connection.quit(deadline: .now.advanced(by: .seconds(2))) }
            guard let next else { return }
            wake = next
        }
    }

    private func removeExpired(_ idle: inout [Idle]) -> [DownstreamConnection] {
        let now = ContinuousClock.now
        let expired = idle.filter { now - $0.since >= idleTimeout }.map(\.connection)
        idle.removeAll { now - $0.since >= idleTimeout }
        return expired
    }
}
