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

/// A log record handed to `logging` hooks.
public struct LogRecord: Sendable {
    public var level: Int  // qpsmtpd's 0 (emerg) ... 7 (debug)
    public var connectionID: String?
    public var hook: String?
    public var plugin: String?
    public var message: String
    public var time: LogTime
    public init(level: Int, connectionID: String?, hook: String?, plugin: String?, message: String, time: LogTime = .now) {
        self.time = time
        self.level = level
        self.connectionID = connectionID
        self.hook = hook
        self.plugin = plugin
        self.message = message
    }
}

/// Where plugins register what they do. The typed `on...` methods make a misspelt hook a compile
/// error; the engine keeps the handlers per hook, in `config/plugins` order.
public struct HookRegistry: Sendable {
    public typealias Handler = @Sendable (HookCall) async throws -> HookResult
    public typealias LogHandler = @Sendable (LogRecord) -> Void

    public struct Entry: Sendable {
        public var plugin: String
        public var handler: Handler
    }

    public private(set) var handlers: [HookPoint: [Entry]] = [:]
    public private(set) var loggers: [(plugin: String, handler: LogHandler)] = []
    /// Set by the engine while a plugin registers, so entries carry its name.
    public var currentPlugin: String = ""

    public init() {}

    public func entries(for point: HookPoint) -> [Entry] { handlers[point] ?? [] }
    public func has(_ point: HookPoint) -> Bool { !(handlers[point]?.isEmpty ?? true) }

    /// The untyped form, for the engine and for hooks without a typed method.
    public mutating func register(_ point: HookPoint, first: Bool = false, _ handler: @escaping Handler) {
        let entry = Entry(plugin: currentPlugin, handler: handler)
        if first { handlers[point, default: []].insert(entry, at: 0) } else { handlers[point, default: []].append(entry) }
    }

    private static func unexpected(_ point: HookPoint) -> HookResult {
        assertionFailure("hook \(point.rawValue) called with the wrong payload")
        return .declined
    }

    // MARK: Connection

    public mutating func onPreConnection(_ body: @escaping @Sendable (Connection) async throws -> HookResult) {
        register(.preConnection) { try await body($0.connection) }
    }
    public mutating func onConnect(_ body: @escaping @Sendable (Connection) async throws -> HookResult) {
        register(.connect) { try await body($0.connection) }
    }
    public mutating func onHelo(_ body: @escaping @Sendable (Connection, String, [String]) async throws -> HookResult) {
        register(.helo) { call in
            guard case .greeting(let host, let words) = call.payload else { return Self.unexpected(.helo) }
            return try await body(call.connection, host, words)
        }
    }
    public mutating func onEhlo(_ body: @escaping @Sendable (Connection, String, [String]) async throws -> HookResult) {
        register(.ehlo) { call in
            guard case .greeting(let host, let words) = call.payload else { return Self.unexpected(.ehlo) }
            return try await body(call.connection, host, words)
        }
    }
    public mutating func onDisconnect(_ body: @escaping @Sendable (Connection) async throws -> HookResult) {
        register(.disconnect) { try await body($0.connection) }
    }
    public mutating func onPostConnection(_ body: @escaping @Sendable (Connection) async throws -> HookResult) {
        register(.postConnection) { try await body($0.connection) }
    }

    // MARK: Envelope

    /// `.ok("<new@address>")` replaces the path before it is parsed.
    public mutating func onMailPre(_ body: @escaping @Sendable (Connection, Transaction, String, [ESMTPParameter]) async throws -> HookResult) {
        register(.mailPre) { call in
            guard case .path(let path, let params) = call.payload, let txn = call.transaction else { return Self.unexpected(.mailPre) }
            return try await body(call.connection, txn, path, params)
        }
    }
    public mutating func onMail(_ body: @escaping @Sendable (Connection, Transaction, ReversePath, [ESMTPParameter]) async throws -> HookResult) {
        register(.mail) { call in
            guard case .sender(let path, let params) = call.payload, let txn = call.transaction else { return Self.unexpected(.mail) }
            return try await body(call.connection, txn, path, params)
        }
    }
    public mutating func onRcptPre(_ body: @escaping @Sendable (Connection, Transaction, String, [ESMTPParameter]) async throws -> HookResult) {
        register(.rcptPre) { call in
            guard case .path(let path, let params) = call.payload, let txn = call.transaction else { return Self.unexpected(.rcptPre) }
            return try await body(call.connection, txn, path, params)
        }
    }
    public mutating func onRcpt(_ body: @escaping @Sendable (Connection, Transaction, Mailbox, [ESMTPParameter]) async throws -> HookResult) {
        register(.rcpt) { call in
            guard case .recipient(let mailbox, let params) = call.payload, let txn = call.transaction else { return Self.unexpected(.rcpt) }
            return try await body(call.connection, txn, mailbox, params)
        }
    }

    // MARK: Message

    private mutating func registerTransactionHook(_ point: HookPoint, _ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        register(point) { call in
            guard let txn = call.transaction else { return Self.unexpected(point) }
            return try await body(call.connection, txn)
        }
    }
    public mutating func onData(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.data, body)
    }
    public mutating func onDataHeadersEnd(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.dataHeadersEnd, body)
    }
    public mutating func onDataPostHeaders(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.dataPostHeaders, body)
    }
    public mutating func onDataPost(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.dataPost, body)
    }
    public mutating func onQueuePre(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.queuePre, body)
    }
    public mutating func onQueue(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.queue, body)
    }
    public mutating func onQueuePost(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.queuePost, body)
    }
    public mutating func onResetTransaction(_ body: @escaping @Sendable (Connection, Transaction) async throws -> HookResult) {
        registerTransactionHook(.resetTransaction, body)
    }
    /// `.ok("value")` replaces the Received header's value (`\n` folds lines).
    public mutating func onReceivedLine(_ body: @escaping @Sendable (Connection, Transaction, ReceivedLineContext) async throws -> HookResult) {
        register(.receivedLine) { call in
            guard case .receivedLine(let context) = call.payload, let txn = call.transaction else { return Self.unexpected(.receivedLine) }
            return try await body(call.connection, txn, context)
        }
    }

    // MARK: Other commands

    public mutating func onVrfy(_ body: @escaping @Sendable (Connection, String) async throws -> HookResult) {
        register(.vrfy) { call in
            guard case .argument(let arg) = call.payload else { return Self.unexpected(.vrfy) }
            return try await body(call.connection, arg)
        }
    }
    public mutating func onNoop(_ body: @escaping @Sendable (Connection) async throws -> HookResult) {
        register(.noop) { try await body($0.connection) }
    }
    public mutating func onHelp(_ body: @escaping @Sendable (Connection, String) async throws -> HookResult) {
        register(.help) { call in
            guard case .argument(let arg) = call.payload else { return Self.unexpected(.help) }
            return try await body(call.connection, arg)
        }
    }
    public mutating func onQuit(_ body: @escaping @Sendable (Connection) async throws -> HookResult) {
        register(.quit) { try await body($0.connection) }
    }
    /// Verb (lowercased) and the rest of the line.
    public mutating func onUnrecognizedCommand(_ body: @escaping @Sendable (Connection, String, String) async throws -> HookResult) {
        register(.unrecognizedCommand) { call in
            guard case .unrecognized(let verb, let arg) = call.payload else { return Self.unexpected(.unrecognizedCommand) }
            return try await body(call.connection, verb, arg)
        }
    }

    // MARK: Observers

    /// Told after any plugin denies; the result is ignored.
    public mutating func onDeny(_ body: @escaping @Sendable (Connection, HookVerdict) async throws -> Void) {
        register(.deny) { call in
            if case .verdict(let v) = call.payload { try await body(call.connection, v) }
            return .declined
        }
    }
    /// Told after any plugin answers something other than a denial; the result is ignored.
    public mutating func onOK(_ body: @escaping @Sendable (Connection, HookVerdict) async throws -> Void) {
        register(.ok) { call in
            if case .verdict(let v) = call.payload { try await body(call.connection, v) }
            return .declined
        }
    }
    /// Checks credentials. `mechanisms` nil registers the generic `auth` hook, which qpsmtpd asks
    /// after the mechanism-specific ones and which offers every mechanism. `.ok` accepts the user
    /// (and lets them relay), `.deny` refuses, `.declined` leaves it to the next plugin.
    public mutating func onAuth(_ mechanisms: [AuthMechanism]? = nil, _ body: @escaping @Sendable (Connection, AuthAttempt) async throws -> HookResult) {
        let handler: Handler = { call in
            guard case .auth(let attempt) = call.payload else { return Self.unexpected(.auth) }
            return try await body(call.connection, attempt)
        }
        guard let mechanisms else {
            register(.auth, handler)
            return
        }
        for mechanism in mechanisms { register(mechanism.hookPoint, handler) }
    }

    /// Declares the certificate STARTTLS and implicit-TLS listeners use (the `tls` plugin does this).
    /// The engine builds the TLS context; plugins never see the TLS library.
    public mutating func provideTLS(_ settings: TLSSettings) {
        tlsSettings = settings
    }

    public private(set) var tlsSettings: TLSSettings?

    /// Receives every log record at or below the daemon's log level. Synchronous: logging must not wait.
    public mutating func onLogging(_ body: @escaping LogHandler) {
        loggers.append((currentPlugin, body))
    }
}
