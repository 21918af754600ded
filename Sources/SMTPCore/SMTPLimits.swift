/// Every limit of the daemon, with its default and the reason for it, in one place. Times are
/// `Duration`s. The file that changes a limit in the config directory is in brackets; limits
/// without one are engine constants. Initialisers elsewhere take their defaults from
/// `SMTPLimits.defaults`, so a default is written once, here. The README's limits table lists
/// the reply each limit gives.
public struct SMTPLimits: Sendable, Hashable {
    /// The defaults, for initialisers that take a single limit.
    public static let defaults = SMTPLimits()

    // MARK: Protocol

    /// Longest command line, CRLF included. RFC 5321 §4.5.3.1.4 sets 512 octets. [`max_line_length`]
    public var maxCommandLineLength: Int = 512
    /// Longest line inside DATA. RFC 5321 §4.5.3.1.6 sets 1000 octets for text lines; real mail
    /// breaks that often, so we accept ten times more before refusing the message. [`max_data_line_length`]
    public var maxDataLineLength: Int = 10_000
    /// Recipients per transaction. RFC 5321 §4.5.3.1.8 requires at least 100. [`max_rcpt`]
    public var maxRecipients: Int = 100
    /// Message size in octets; 0 means unlimited, as in qmail. [`databytes`]
    public var maxMessageSize: Int = 0
    /// Most octets of a header block kept in memory for plugins to read. [`max_header_size`]
    public var maxHeaderSize: Int = 1_048_576
    /// Message bytes held in memory before the spool moves to a file. [`size_threshold`]
    public var spoolMemoryThreshold: Int = 65_536
    /// Commands in a session before we stop listening: a loop guard, not a policy. [`max_commands`]
    public var maxCommandsPerSession: Int = 10_000
    /// Octets buffered while the framer waits for the reply to DATA, BDAT, STARTTLS or AUTH (at
    /// least four command lines); then reading stops, so a client that streams its message
    /// before our 354 cannot make us hold it all.
    public var maxBufferedWhilePaused: Int = 65_536

    // MARK: Time

    /// Time the client gets to send one whole command line (not each read: a byte now and then
    /// does not keep a connection open), and the grace and stall limit inside DATA. qpsmtpd's
    /// default; RFC 5321 §4.5.3.2.7 asks for at least 5 minutes. [`timeout`]
    public var commandTimeout: Duration = .seconds(1200)
    /// Octets per second a message must average once `commandTimeout` of grace has passed, as
    /// Postfix's `smtpd_min_data_rate`: a 10 MB message may take 1200 s + 20,000 s, a dribble of
    /// a byte a second gets cut off. 0 leaves only the stall limit. [`min_data_rate`]
    public var minDataRate: Int = 500
    /// Replaces `commandTimeout` while more than `stressThreshold` percent of `maxConnections` is
    /// in use, so idle and slow clients give their slots back (Postfix's stress timeout is 10 s). [`stress_timeout`]
    public var stressTimeout: Duration = .seconds(10)
    /// Time one plugin may take at one hook, unless its own `timeout` argument says otherwise;
    /// qpsmtpd's default. [`plugin_timeout`]
    public var pluginTimeout: Duration = .seconds(120)
    /// After a plugin's deadline, how long one that ignores it keeps the session waiting before
    /// it is abandoned: long enough for a plugin that watches its deadline to say why it gave up.
    public var pluginAbandonGrace: Duration = .milliseconds(500)
    /// How long sessions get to finish after SIGTERM before they are cut off. [`--shutdown-grace`]
    public var shutdownGrace: Duration = .seconds(30)

    // MARK: Connections

    /// Simultaneous connections; 0 = no limit. [`max_connections`, `--max-connections`]
    public var maxConnections: Int = 1000
    /// Simultaneous connections from one address, so one client cannot take every slot.
    /// [`max_connections_per_ip`, `--max-per-ip`]
    public var maxConnectionsPerIP: Int = 20
    /// Percent of `maxConnections` in use above which new deadlines use `stressTimeout`
    /// (Postfix's stress mode starts when all processes are busy; we start a little earlier). [`stress_threshold`]
    public var stressThreshold: Int = 80

    // MARK: AUTH

    /// Failed attempts on one connection; the next AUTH gets 421 and the connection is closed. [`auth_max_failures`]
    public var authMaxFailures: Int = 3
    /// Failed (and in-flight) attempts from one address within `authFailureWindow`. [`auth_max_failures_per_ip`]
    public var authMaxFailuresPerIP: Int = 10
    /// Failed (and in-flight) attempts for one account, from any address, within the window:
    /// Postfix's anvil and Dovecot's auth penalty guard accounts too. [`auth_max_failures_per_user`]
    public var authMaxFailuresPerUser: Int = 20
    /// First delay before answering a failed attempt, doubling with each failure. [`auth_failure_delay`]
    public var authFailureDelay: Duration = .seconds(1)
    /// How long failures are remembered per address and account.
    public var authFailureWindow: Duration = .seconds(600)
    /// Addresses and accounts the failure tracker remembers at most: bounds its memory under a
    /// flood from many addresses.
    public var authTrackerCapacity: Int = 100_000

    // MARK: Resources

    /// Threads for blocking work (fsync, spool reads) and for plugins' asynchronous hook work:
    /// deliveries wait on fsync, and the disk's group commit needs many syncs in flight to pay
    /// off; one thread per core would allow two. Read at start-up only. [`blocking_threads`]
    public var blockingThreads: Int = 32

    public init() {}
}
