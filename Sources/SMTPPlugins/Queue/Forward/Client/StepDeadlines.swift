/// How long each step of a downstream conversation may take. Every step also ends a little
/// before the hook's own deadline, so that we answer `451 4.3.0` ourselves instead of the hook
/// runner abandoning the plugin.
struct ForwardTimeouts: Sendable, Hashable {
    /// TCP (or UNIX socket) connect, TLS handshake included.
    var connect: Duration = .seconds(30)
    /// Each command's reply, and each write of the message: Net::SMTP's 60 s, which qpsmtpd used.
    var command: Duration = .seconds(60)
    /// The reply after the final dot: RFC 5321 §4.5.3.2.6 suggests 10 minutes, since the server
    /// may be scanning the message then. The hook's deadline (`plugin_timeout`) usually ends it first.
    var dataEnd: Duration = .seconds(600)
    /// How long before the hook's deadline every step gives up.
    var hookMargin: Duration = .milliseconds(500)

    init() {}
}

/// The deadlines of one hook call's steps.
struct StepDeadlines: Sendable {
    let timeouts: ForwardTimeouts
    let hookDeadline: ContinuousClock.Instant

    init(_ timeouts: ForwardTimeouts, hookDeadline: ContinuousClock.Instant) {
        self.timeouts = timeouts
        self.hookDeadline = hookDeadline
    }

    var connect: ContinuousClock.Instant { bounded(timeouts.connect) }
    var command: ContinuousClock.Instant { bounded(timeouts.command) }
    var dataEnd: ContinuousClock.Instant { bounded(timeouts.dataEnd) }
    /// For QUIT and RSET on a connection we are giving up anyway: never worth long.
    var courtesy: ContinuousClock.Instant { bounded(.seconds(5)) }

    private func bounded(_ step: Duration) -> ContinuousClock.Instant {
        min(ContinuousClock.now.advanced(by: step), hookDeadline.advanced(by: .zero - timeouts.hookMargin))
    }
}
