public import NIOCore
public import SMTPCore

/// How long a client may take, in the manner of Postfix's `smtpd_per_record_deadline` and
/// `smtpd_min_data_rate`: the timeout bounds a whole command line rather than the gap between two
/// reads, so a client that sends a byte now and then cannot keep its slot for ever; a message gets
/// one timeout of grace plus a second for every `minDataRate` octets, and no more; and while most
/// connection slots are taken, the shorter stress timeout applies (Postfix's stress mode).
public struct ClientTimeouts: Sendable {
    public var command: TimeAmount
    public var stress: TimeAmount
    /// Octets per second a message must average after the grace; 0: no whole-message deadline.
    public var minDataRate: Int
    /// Asked whenever a deadline is set, so stress applies as soon as slots run low.
    public var isUnderStress: @Sendable () -> Bool

    public init(command: TimeAmount, stress: TimeAmount, minDataRate: Int, isUnderStress: @escaping @Sendable () -> Bool = { false }) {
        self.command = command
        self.stress = stress
        self.minDataRate = minDataRate
        self.isUnderStress = isUnderStress
    }

    /// The configured limits; `isUnderStress` from the listener's connection count.
    public init(limits: SMTPLimits, isUnderStress: @escaping @Sendable () -> Bool = { false }) {
        self.init(command: TimeAmount(limits.commandTimeout), stress: TimeAmount(limits.stressTimeout),
                  minDataRate: limits.minDataRate, isUnderStress: isUnderStress)
    }

    /// The timeout for what the client sends next.
    var current: TimeAmount { isUnderStress() ? min(command, stress) : command }
}

/// The deadline of one connection: what the client is expected to finish, and by when. Pure
/// arithmetic; the codec owns the one timer that checks it.
struct ClientDeadline {
    enum Expired: Equatable {
        /// A command line (or SASL answer) did not arrive whole in time.
        case command
        /// The message stalled, or came in slower than the minimum rate.
        case message
    }

    private enum Phase {
        case command(deadline: NIODeadline)
        case message(start: NIODeadline, lastProgress: NIODeadline, octets: Int, timeout: TimeAmount)
    }

    private var phase: Phase
    /// A line was handed to the session and not yet answered: the time is ours, not the client's.
    var serverOwesReply = false
    private let timeouts: ClientTimeouts

    init(timeouts: ClientTimeouts, now: NIODeadline) {
        self.timeouts = timeouts
        phase = .command(deadline: now + timeouts.current)
    }

    /// The client's turn to send a command line starts now.
    mutating func expectCommand(now: NIODeadline) {
        phase = .command(deadline: now + timeouts.current)
    }

    /// The 354 went out: the message starts now.
    mutating func expectMessage(now: NIODeadline) {
        phase = .message(start: now, lastProgress: now, octets: 0, timeout: timeouts.current)
    }

    mutating func messageProgress(octets: Int, now: NIODeadline) {
        if case .message(let start, _, let total, let timeout) = phase {
            phase = .message(start: start, lastProgress: now, octets: total + octets, timeout: timeout)
        }
    }

    /// When the current deadline passes.
    var expiry: NIODeadline {
        switch phase {
        case .command(let deadline):
            return deadline
        case .message(let start, let lastProgress, let octets, let timeout):
            let stalled = lastProgress + timeout
            guard timeouts.minDataRate > 0 else { return stalled }
            // Grace of one timeout, then one second per minDataRate octets received.
            let earned = TimeAmount.nanoseconds(Int64(Double(octets) / Double(timeouts.minDataRate) * 1e9))
            return min(stalled, start + timeout + earned)
        }
    }

    /// What expired at `now`, if anything. While the server owes a reply nothing does: the
    /// client is waiting for us.
    func expired(at now: NIODeadline) -> Expired? {
        guard !serverOwesReply, now >= expiry else { return nil }
        if case .message = phase { return .message }
        return .command
    }
}
