/// Named limits of the protocol engine, each with the reason for its default.
/// Every one can be changed from the config directory (file name in brackets).
public struct SMTPLimits: Sendable, Hashable {
    /// Longest command line, CRLF included. RFC 5321 §4.5.3.1.4 sets 512 octets. [`max_line_length`]
    public var maxCommandLineLength: Int = 512
    /// Longest line inside DATA. RFC 5321 §4.5.3.1.6 sets 1000 octets for text lines; real mail
    /// breaks that often, so we accept ten times more before refusing the message. [`max_data_line_length`]
    public var maxDataLineLength: Int = 10_000
    /// Recipients per transaction. RFC 5321 §4.5.3.1.8 requires at least 100. [`max_rcpt`]
    public var maxRecipients: Int = 100
    /// Message size in octets; 0 means unlimited, as in qmail. [`databytes`]
    public var maxMessageSize: Int = 0
    /// Time the client gets to send one whole command line (not each read: a byte now and then
    /// does not keep a connection open), and the grace and stall limit inside DATA. qpsmtpd's
    /// default; RFC 5321 §4.5.3.2.7 asks for at least 5 minutes. [`timeout`]
    public var commandTimeout: Duration = .seconds(1200)
    /// Octets per second a message must average once `commandTimeout` of grace has passed, as
    /// Postfix's `smtpd_min_data_rate`: a 10 MB message may take 1200 s + 20,000 s, a dribble of
    /// a byte a second gets cut off. 0 leaves only the stall limit. [`min_data_rate`]
    public var minDataRate: Int = 500
    /// Replaces `commandTimeout` while more than the stress share of `max_connections` is in use,
    /// so idle and slow clients give their slots back (Postfix's stress timeout is 10 s). [`stress_timeout`]
    public var stressTimeout: Duration = .seconds(10)
    /// Most octets of a header block kept in memory for plugins to read. [`max_header_size`]
    public var maxHeaderSize: Int = 1_048_576
    /// Message bytes held in memory before the spool moves to a file. [`size_threshold`]
    public var spoolMemoryThreshold: Int = 65_536
    /// Commands in a session before we stop listening: a loop guard, not a policy. [`max_commands`]
    public var maxCommandsPerSession: Int = 10_000

    public init() {}
}
