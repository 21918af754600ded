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

    private let idle = Mutex<[Idle]>([])

    init(capacity: Int = 4, idleTimeout: Duration = .seconds(30)) {
        self.capacity = capacity
        self.idleTimeout = idleTimeout
    }

    /// The most recently returned connection that has not been idle too long; nil when none.
    /// Connections past their idle time are closed on the way.
    func take() async -> DownstreamConnection? {
        let (fresh, stale) = idle.withLock { idle -> (DownstreamConnection?, [DownstreamConnection]) in
            let (kept, expired) = split(idle)
            idle = kept
            return (idle.popLast()?.connection, expired)
        }
        for connection in stale { await connection.close() }
        return fresh
    }

    /// Keeps `connection` for the next message, closing whatever no longer fits. If nobody takes
    /// it, it is closed once its idle time is up: the downstream should not hold a session for a
    /// client that has gone quiet, and a pool left behind by a reload empties itself.
    func put(_ connection: DownstreamConnection) async {
        let surplus = idle.withLock { idle -> [DownstreamConnection] in
            var (kept, closing) = split(idle)
            kept.append(Idle(connection: connection, since: .now))
            while kept.count > capacity { closing.append(kept.removeFirst().connection) }
            idle = kept
            return closing
        }
        for connection in surplus { await connection.close() }
        let wait = idleTimeout
        Task { [self] in
            try? await Task.sleep(for: wait)
            await closeExpired()
        }
    }

    /// Closes the connections that have been idle for `idleTimeout`.
    func closeExpired() async {
        let expired = idle.withLock { idle -> [DownstreamConnection] in
            let (kept, expired) = split(idle)
            idle = kept
            return expired
        }
        for connection in expired { await connection.quit(deadline: .now.advanced(by: .seconds(2))) }
    }

    /// How many wait now (for tests and logs).
    var count: Int { idle.withLock { $0.count } }

    private func split(_ idle: [Idle]) -> ([Idle], [DownstreamConnection]) {
        let now = ContinuousClock.now
        let kept = idle.filter { now - $0.since < idleTimeout }
        let expired = idle.filter { now - $0.since >= idleTimeout }.map(\.connection)
        return (kept, expired)
    }
}
