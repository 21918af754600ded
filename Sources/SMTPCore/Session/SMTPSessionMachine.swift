/// The protocol state of one SMTP session, as a value: which command may run in which state, what
/// each outcome changes, and how the bytes after each reply must be read. No I/O and no plugins:
/// the async driver asks `check` before running a command's hooks, reports what happened with
/// `apply`, and hands the framer the `ReadingMode` that `readingMode(after:)` returns.
///
/// Only sequencing lives here. Policy (who may relay, which sender is refused) belongs to the
/// plugins, and per-connection counters that depend on the server's settings (AUTH failures,
/// the command limit) to the driver.
public struct SMTPSessionMachine: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        /// Connected; the connect hooks have not answered yet.
        case greeting
        /// Commands are read. `hello` says whether HELO/EHLO has been accepted.
        case ready
        /// MAIL was accepted; RCPT and DATA may follow.
        case inTransaction
        /// 354 was sent; message bytes are read.
        case receivingMessage
        /// A 334 prompt was sent; the next line is a SASL answer.
        case saslExchange
        /// The 220 to STARTTLS was sent; the handshake is under way.
        case tlsPending
        /// A reply that ends the connection was sent.
        case closing
    }

    /// What the server offers, fixed for the session (from its settings and loaded plugins).
    public struct Offer: Sendable, Hashable {
        /// A certificate is configured.
        public var startTLS: Bool
        /// Some plugin checks credentials.
        public var auth: Bool
        /// `tls_before_auth`: AUTH only over TLS.
        public var tlsBeforeAuth: Bool
        /// `max_rcpt`.
        public var maxRecipients: Int

        public init(startTLS: Bool = false, auth: Bool = false, tlsBeforeAuth: Bool = false, maxRecipients: Int = SMTPLimits.defaults.maxRecipients) {
            self.startTLS = startTLS
            self.auth = auth
            self.tlsBeforeAuth = tlsBeforeAuth
            self.maxRecipients = maxRecipients
        }
    }

    /// What `check` says about a command line.
    public enum Verdict: Sendable, Hashable {
        /// Run the command's hooks.
        case proceed(SMTPVerb)
        /// Not a command we offer: ask the `unrecognized_command` hook.
        case unrecognized
        /// Refused before any hook, with this reply; nothing changes.
        case refuse(SMTPReply)
    }

    /// What the driver reports after a command's hooks have run, or after a connection event.
    public enum Event: Sendable, Hashable {
        /// The greeting went out (`true`) or the connect hooks refused the client (`false`).
        case greeted(accepted: Bool)
        /// HELO/EHLO accepted; any transaction is gone (RFC 5321 §4.1.4).
        case helloAccepted(SMTPHello)
        /// MAIL accepted: a new transaction.
        case senderAccepted
        case recipientAccepted
        /// RSET, a refused MAIL, a finished or refused message: back to no transaction.
        case transactionReset
        /// 354 sent.
        case messageStarted
        /// The reply to the message went out (accepted or not).
        case messageFinished
        /// A 334 prompt went out.
        case saslPrompted
        /// The AUTH exchange ended, with or without success.
        case saslFinished(authenticated: Bool)
        /// The 220 to STARTTLS went out.
        case tlsStarting
        /// The handshake finished: everything learnt in clear is forgotten (RFC 3207 §4.2).
        case tlsEstablished
        /// A reply that closes the connection went out.
        case closing
    }

    public private(set) var state: State = .greeting
    public private(set) var hello: SMTPHello?
    public private(set) var isTLS: Bool
    public private(set) var isAuthenticated = false
    public private(set) var recipientCount = 0
    public let offer: Offer

    /// `tls`: the connection is TLS from its first byte (port 465).
    public init(offer: Offer, tls: Bool = false) {
        self.offer = offer
        self.isTLS = tls
    }

    /// Whether the verb is offered at all: STARTTLS needs a certificate and no TLS yet counts as
    /// offered (a second one gets 503), AUTH needs an auth plugin.
    public func isOffered(_ verb: SMTPVerb) -> Bool {
        switch verb {
        case .starttls: return offer.startTLS
        case .auth: return offer.auth
        default: return true
        }
    }

    /// AUTH is advertised in EHLO: offered, and allowed on this connection now.
    public var advertisesAuth: Bool { offer.auth && (!offer.tlsBeforeAuth || isTLS) }

    /// STARTTLS is advertised in EHLO: offered and not yet active.
    public var advertisesStartTLS: Bool { offer.startTLS && !isTLS }

    /// Decides whether a command may run now. `verb` nil is a line that names no command we know.
    /// The reply texts are qpsmtpd's where it has one (reference §1.7).
    public func check(_ verb: SMTPVerb?, argument: String) -> Verdict {
        guard state == .ready || state == .inTransaction else {
            // The framer delivers no command line in the other states; if one arrives anyway,
            // it is out of sequence.
            return .refuse(SMTPReply(503, .invalidCommand, "Bad sequence of commands"))
        }
        guard let verb, isOffered(verb) else { return .unrecognized }
        switch verb {
        case .helo, .ehlo:
            guard !argument.isEmpty else {
                return .refuse(SMTPReply(501, .invalidArguments, "\(verb.rawValue) requires domain/address - see RFC-5321 4.1.1.1"))
            }
        case .mail:
            guard hello != nil else { return .refuse(SMTPReply(503, .invalidCommand, "please say hello first ...")) }
        case .rcpt:
            guard state == .inTransaction else { return .refuse(SMTPReply(503, .invalidCommand, "Use MAIL before RCPT")) }
            guard recipientCount < offer.maxRecipients else { return .refuse(SMTPReply(452, .tooManyRecipients, "Too many recipients")) }
        case .data:
            guard argument.isEmpty else { return .refuse(SMTPReply(501, .invalidArguments, "Syntax error: DATA takes no arguments")) }
            guard hello != nil else { return .refuse(SMTPReply(503, .invalidCommand, "please say hello first ...")) }
            guard state == .inTransaction else { return .refuse(SMTPReply(503, .invalidCommand, "MAIL first")) }
            guard recipientCount > 0 else { return .refuse(SMTPReply(503, .invalidCommand, "RCPT first")) }
        case .starttls:
            guard argument.isEmpty else { return .refuse(SMTPReply(501, .invalidArguments, "Syntax error (no parameters allowed)")) }
            guard !isTLS else { return .refuse(SMTPReply(503, .invalidCommand, "TLS already active")) }
        case .auth:
            guard let hello else { return .refuse(SMTPReply(503, .invalidCommand, "please say hello first ...")) }
            guard hello == .ehlo else { return .refuse(SMTPReply(503, .invalidCommand, "AUTH not defined for HELO")) }
            guard !isAuthenticated else { return .refuse(SMTPReply(503, .invalidCommand, "but you already said AUTH ...")) }
            guard state != .inTransaction else { return .refuse(SMTPReply(503, .invalidCommand, "AUTH is not allowed during a mail transaction")) }
            guard !offer.tlsBeforeAuth || isTLS else { return .refuse(SMTPReply(530, .securityOther, "Must issue a STARTTLS command first")) }
        case .rset, .noop, .vrfy, .help, .quit:
            break
        }
        return .proceed(verb)
    }

    /// Moves to the state an event leads to.
    public mutating func apply(_ event: Event) {
        switch event {
        case .greeted(let accepted):
            state = accepted ? .ready : .closing
        case .helloAccepted(let kind):
            hello = kind
            endTransaction()
        case .senderAccepted:
            state = .inTransaction
            recipientCount = 0
        case .recipientAccepted:
            recipientCount += 1
        case .transactionReset, .messageFinished:
            endTransaction()
        case .messageStarted:
            state = .receivingMessage
        case .saslPrompted:
            state = .saslExchange
        case .saslFinished(let authenticated):
            isAuthenticated = isAuthenticated || authenticated
            state = .ready
        case .tlsStarting:
            state = .tlsPending
            hello = nil
            isAuthenticated = false
            recipientCount = 0
        case .tlsEstablished:
            isTLS = true
            state = .ready
        case .closing:
            state = .closing
        }
    }

    private mutating func endTransaction() {
        if state != .closing { state = .ready }
        recipientCount = 0
    }

    /// How to read on after the reply to a line. `lineDecidesMode`: the line was one after which
    /// the framer stopped (`ReadingMode.replyDecidesMode`), so the reply must say what follows.
    /// nil: carry on as before (the framer did not stop).
    public func readingMode(lineDecidesMode: Bool) -> ReadingMode? {
        switch state {
        case .closing: return .close
        case .receivingMessage: return .message
        case .saslExchange: return .saslResponse
        case .tlsPending: return .startTLS
        case .greeting, .ready, .inTransaction: return lineDecidesMode ? .commands : nil
        }
    }
}

/// HELO or EHLO.
public enum SMTPHello: String, Sendable, Hashable {
    case helo, ehlo
}
