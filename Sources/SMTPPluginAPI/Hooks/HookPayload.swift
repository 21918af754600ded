public import SMTPCore

/// What a hook was called with, beyond the connection and transaction.
public enum HookPayload: Sendable {
    case none
    /// HELO/EHLO: the host and any further words.
    case greeting(host: String, words: [String])
    /// mail_pre/rcpt_pre: the path as written and its parameters.
    case path(String, [ESMTPParameter])
    case sender(ReversePath, [ESMTPParameter])
    case recipient(Mailbox, [ESMTPParameter])
    /// VRFY and HELP arguments.
    case argument(String)
    case unrecognized(verb: String, argument: String)
    case receivedLine(ReceivedLineContext)
    /// deny/ok: which plugin answered what at which hook.
    case verdict(HookVerdict)
    case auth(AuthAttempt)
}

/// The facts a `received_line` hook may use to write its own Received value.
public struct ReceivedLineContext: Sendable, Hashable {
    /// `SMTP`, `ESMTP`, `ESMTPS`, `ESMTPA`, `ESMTPSA`.
    public var protocolName: String
    /// `(smtp-auth username u, mechanism m)` or empty.
    public var authHeader: String
    /// `(cipher encrypted)` or empty.
    public var tlsInfo: String
    public init(protocolName: String, authHeader: String, tlsInfo: String) {
        self.protocolName = protocolName
        self.authHeader = authHeader
        self.tlsInfo = tlsInfo
    }
}

public struct HookVerdict: Sendable, Hashable {
    public var plugin: String
    public var hook: HookPoint
    public var result: HookResult
    public init(plugin: String, hook: HookPoint, result: HookResult) {
        self.plugin = plugin
        self.hook = hook
        self.result = result
    }
}

/// One call of a hook.
public struct HookCall: Sendable {
    public var connection: Connection
    public var transaction: Transaction?
    public var payload: HookPayload
    public init(connection: Connection, transaction: Transaction?, payload: HookPayload = .none) {
        self.connection = connection
        self.transaction = transaction
        self.payload = payload
    }
}
