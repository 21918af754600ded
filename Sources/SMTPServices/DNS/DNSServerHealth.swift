import NIOCore
import Synchronization

/// Remembers servers that stopped answering, as unbound's infrastructure cache does, so that a
/// dead server costs one lookup's timeout and not one per lookup: after two tries without an
/// answer, with nothing else answered since they were sent, the server is skipped for a
/// hold-down time (30 s, doubling while it stays silent, at most 2 minutes); the first lookup
/// after that tries it again, and one more silent try puts it straight back.
final class DNSServerHealth: Sendable {
    private struct State {
        var lastAnswer: ContinuousClock.Instant?
        var silentTries = 0
        var strikes = 0
        var downUntil: ContinuousClock.Instant?
    }

    static let triesBeforeDown = 2
    static let firstHoldDown: Duration = .seconds(30)
    static let longestHoldDown: Duration = .seconds(120)

    private let states = Mutex<[SocketAddress: State]>([:])

    /// Whether `server` may be asked now.
    func isUsable(_ server: SocketAddress, now: ContinuousClock.Instant = .now) -> Bool {
        states.withLock { states in
            guard let until = states[server]?.downUntil else { return true }
            return until <= now
        }
    }

    /// The server answered something well-formed (even SERVFAIL: it is alive).
    func answered(_ server: SocketAddress, now: ContinuousClock.Instant = .now) {
        states.withLock { $0[server] = State(lastAnswer: now) }
    }

    /// A try sent at `sentAt` got no usable answer (silence, garbage, truncation it could not
    /// get past). A server that answered other queries meanwhile is alive and lost one packet,
    /// or was slow on one name: that does not count against it.
    /// True when this miss put the server down: tries still waiting on it should give up.
    @discardableResult
    func missed(_ server: SocketAddress, sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) -> Bool {
        states.withLock { states -> Bool in
            var state = states[server] ?? State()
            if let lastAnswer = state.lastAnswer, lastAnswer >= sentAt { return false }
            // Tries already in flight when the server was put down do not extend the hold-down.
            if let until = state.downUntil, until > now { return false }
            state.silentTries += 1
            // A server already put down once is put down again at its first silent probe.
            let threshold = state.strikes > 0 ? 1 : Self.triesBeforeDown
            if state.silentTries >= threshold {
                let holdDown = min(Self.firstHoldDown * (1 << min(state.strikes, 8)), Self.longestHoldDown)
                state.downUntil = now + holdDown
                state.strikes += 1
                state.silentTries = 0
                states[server] = state
                return true
            }
            states[server] = state
            return false
        }
    }
}
