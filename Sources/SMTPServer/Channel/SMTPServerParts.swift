public import NIOCore
public import SMTPCore

/// What the codec hands the session: framed input and the events that matter to SMTP.
public enum SMTPInboundPart: Sendable {
    /// A command line, line end removed.
    case command(ByteBuffer)
    /// A command line longer than the limit was thrown away.
    case commandLineTooLong
    case dataChunk(ByteBuffer)
    case dataEnd(SMTPFramer.DataDefects)
    /// The end of what one read delivered: the moment to send the replies collected so far
    /// (RFC 2920: replies to a pipelined group may go out together).
    case batchEnd
    /// The client did not finish a command line, or its message, in time (`ClientDeadline`).
    case timedOut(SMTPTimeout)
    /// The daemon is shutting down: finish the transaction in flight, then say goodbye.
    case shutdownRequested
    /// A TLS handshake finished; the protocol version negotiated (`TLSv1.3`).
    case tlsEstablished(version: String)
    /// A TLS handshake failed; why, for the log.
    case tlsFailed(reason: String)
    /// Plaintext bytes that followed STARTTLS and were thrown away (RFC 3207 §5).
    case discardedAfterSTARTTLS(octets: Int)
}

/// What the client was too slow to send.
public enum SMTPTimeout: Sendable {
    case command
    case message
}

/// What the session hands the codec: a reply, and how the bytes after it must be read.
public struct SMTPOutboundPart: Sendable {
    public var reply: SMTPReply
    /// Set when the reading mode changes or must be confirmed (the framer stopped after DATA,
    /// BDAT, STARTTLS, AUTH or a SASL answer); nil: read on as before.
    public var then: ReadingMode?

    public init(_ reply: SMTPReply, then: ReadingMode? = nil) {
        self.reply = reply
        self.then = then
    }
}

/// Sent down the pipeline to ask a session to end at the next safe point.
public struct SMTPShutdownRequest: Sendable {
    public init() {}
}
