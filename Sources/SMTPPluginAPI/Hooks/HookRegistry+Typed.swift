public import SMTPCore

/// The typed registration methods, one pair per hook: the synchronous form runs inline in the
/// session (no task, no hop; it must not block), the `async` form runs with the plugin's deadline
/// and is cancelled when it passes. Swift picks the synchronous form for a closure without `await`.
///
///     hooks.onMail { context, transaction, sender, parameters in
///         badSenders.contains(sender.address.lowercased()) ? context.reject("Your envelope sender is in my badmailfrom list") : .declined
///     }
extension HookRegistry {
    /// Registers `body` at `point`, with `extract` turning the call into the body's arguments.
    mutating func typed<each A: Sendable>(
        _ point: HookPoint, _ extract: @escaping @Sendable (HookCall) -> (repeat each A)?,
        _ body: @escaping @Sendable (HookContext, repeat each A) throws -> HookResult
    ) {
        register(point, .sync { call, context in
            guard let arguments = extract(call) else { return Self.unexpected(point) }
            return try body(context, repeat each arguments)
        })
    }

    mutating func typed<each A: Sendable>(
        _ point: HookPoint, _ extract: @escaping @Sendable (HookCall) -> (repeat each A)?,
        _ body: @escaping @Sendable (HookContext, repeat each A) async throws -> HookResult
    ) {
        register(point, .async { call, context in
            guard let arguments = extract(call) else { return Self.unexpected(point) }
            return try await body(context, repeat each arguments)
        })
    }

    public mutating func onPreConnection(_ body: @escaping @Sendable (HookContext) throws -> HookResult) { typed(.preConnection, Payloads.none, body) }
    public mutating func onPreConnection(_ body: @escaping @Sendable (HookContext) async throws -> HookResult) { typed(.preConnection, Payloads.none, body) }

    public mutating func onConnect(_ body: @escaping @Sendable (HookContext) throws -> HookResult) { typed(.connect, Payloads.none, body) }
    public mutating func onConnect(_ body: @escaping @Sendable (HookContext) async throws -> HookResult) { typed(.connect, Payloads.none, body) }

    /// The host and any further words.
    public mutating func onHelo(_ body: @escaping @Sendable (HookContext, String, [String]) throws -> HookResult) { typed(.helo, Payloads.greeting, body) }
    public mutating func onHelo(_ body: @escaping @Sendable (HookContext, String, [String]) async throws -> HookResult) { typed(.helo, Payloads.greeting, body) }

    /// The host and any further words; `context.connection.advertise(_:)` adds EHLO lines.
    public mutating func onEhlo(_ body: @escaping @Sendable (HookContext, String, [String]) throws -> HookResult) { typed(.ehlo, Payloads.greeting, body) }
    public mutating func onEhlo(_ body: @escaping @Sendable (HookContext, String, [String]) async throws -> HookResult) { typed(.ehlo, Payloads.greeting, body) }

    public mutating func onDisconnect(_ body: @escaping @Sendable (HookContext) throws -> HookResult) { typed(.disconnect, Payloads.none, body) }
    public mutating func onDisconnect(_ body: @escaping @Sendable (HookContext) async throws -> HookResult) { typed(.disconnect, Payloads.none, body) }

    public mutating func onPostConnection(_ body: @escaping @Sendable (HookContext) throws -> HookResult) { typed(.postConnection, Payloads.none, body) }
    public mutating func onPostConnection(_ body: @escaping @Sendable (HookContext) async throws -> HookResult) { typed(.postConnection, Payloads.none, body) }

    /// `.ok("<new@address>")` replaces the path before it is parsed.
    public mutating func onMailPre(_ body: @escaping @Sendable (HookContext, Transaction, String, [ESMTPParameter]) throws -> HookResult) { typed(.mailPre, Payloads.path, body) }
    public mutating func onMailPre(_ body: @escaping @Sendable (HookContext, Transaction, String, [ESMTPParameter]) async throws -> HookResult) { typed(.mailPre, Payloads.path, body) }

    public mutating func onMail(_ body: @escaping @Sendable (HookContext, Transaction, ReversePath, [ESMTPParameter]) throws -> HookResult) { typed(.mail, Payloads.sender, body) }
    public mutating func onMail(_ body: @escaping @Sendable (HookContext, Transaction, ReversePath, [ESMTPParameter]) async throws -> HookResult) { typed(.mail, Payloads.sender, body) }

    /// `.ok("<new@address>")` replaces the path before it is parsed.
    public mutating func onRcptPre(_ body: @escaping @Sendable (HookContext, Transaction, String, [ESMTPParameter]) throws -> HookResult) { typed(.rcptPre, Payloads.path, body) }
    public mutating func onRcptPre(_ body: @escaping @Sendable (HookContext, Transaction, String, [ESMTPParameter]) async throws -> HookResult) { typed(.rcptPre, Payloads.path, body) }

    public mutating func onRcpt(_ body: @escaping @Sendable (HookContext, Transaction, Mailbox, [ESMTPParameter]) throws -> HookResult) { typed(.rcpt, Payloads.recipient, body) }
    public mutating func onRcpt(_ body: @escaping @Sendable (HookContext, Transaction, Mailbox, [ESMTPParameter]) async throws -> HookResult) { typed(.rcpt, Payloads.recipient, body) }

    public mutating func onData(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.data, Payloads.transaction, body) }
    public mutating func onData(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.data, Payloads.transaction, body) }

    public mutating func onDataHeadersEnd(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.dataHeadersEnd, Payloads.transaction, body) }
    public mutating func onDataHeadersEnd(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.dataHeadersEnd, Payloads.transaction, body) }

    public mutating func onDataPostHeaders(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.dataPostHeaders, Payloads.transaction, body) }
    public mutating func onDataPostHeaders(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.dataPostHeaders, Payloads.transaction, body) }

    public mutating func onDataPost(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.dataPost, Payloads.transaction, body) }
    public mutating func onDataPost(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.dataPost, Payloads.transaction, body) }

    public mutating func onQueuePre(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.queuePre, Payloads.transaction, body) }
    public mutating func onQueuePre(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.queuePre, Payloads.transaction, body) }

    public mutating func onQueue(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.queue, Payloads.transaction, body) }
    public mutating func onQueue(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.queue, Payloads.transaction, body) }

    public mutating func onQueuePost(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.queuePost, Payloads.transaction, body) }
    public mutating func onQueuePost(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.queuePost, Payloads.transaction, body) }

    public mutating func onResetTransaction(_ body: @escaping @Sendable (HookContext, Transaction) throws -> HookResult) { typed(.resetTransaction, Payloads.transaction, body) }
    public mutating func onResetTransaction(_ body: @escaping @Sendable (HookContext, Transaction) async throws -> HookResult) { typed(.resetTransaction, Payloads.transaction, body) }

    /// `.ok("value")` replaces the Received header's value (`\n` folds lines).
    public mutating func onReceivedLine(_ body: @escaping @Sendable (HookContext, Transaction, ReceivedLineContext) throws -> HookResult) { typed(.receivedLine, Payloads.receivedLine, body) }
    public mutating func onReceivedLine(_ body: @escaping @Sendable (HookContext, Transaction, ReceivedLineContext) async throws -> HookResult) { typed(.receivedLine, Payloads.receivedLine, body) }

    public mutating func onVrfy(_ body: @escaping @Sendable (HookContext, String) throws -> HookResult) { typed(.vrfy, Payloads.argument, body) }
    public mutating func onVrfy(_ body: @escaping @Sendable (HookContext, String) async throws -> HookResult) { typed(.vrfy, Payloads.argument, body) }

    public mutating func onNoop(_ body: @escaping @Sendable (HookContext) throws -> HookResult) { typed(.noop, Payloads.none, body) }
    public mutating func onNoop(_ body: @escaping @Sendable (HookContext) async throws -> HookResult) { typed(.noop, Payloads.none, body) }

    public mutating func onHelp(_ body: @escaping @Sendable (HookContext, String) throws -> HookResult) { typed(.help, Payloads.argument, body) }
    public mutating func onHelp(_ body: @escaping @Sendable (HookContext, String) async throws -> HookResult) { typed(.help, Payloads.argument, body) }

    public mutating func onQuit(_ body: @escaping @Sendable (HookContext) throws -> HookResult) { typed(.quit, Payloads.none, body) }
    public mutating func onQuit(_ body: @escaping @Sendable (HookContext) async throws -> HookResult) { typed(.quit, Payloads.none, body) }

    /// Verb (lowercased) and the rest of the line.
    public mutating func onUnrecognizedCommand(_ body: @escaping @Sendable (HookContext, String, String) throws -> HookResult) { typed(.unrecognizedCommand, Payloads.unrecognized, body) }
    public mutating func onUnrecognizedCommand(_ body: @escaping @Sendable (HookContext, String, String) async throws -> HookResult) { typed(.unrecognizedCommand, Payloads.unrecognized, body) }

    // MARK: Observers

    /// Told after any plugin denies; the result is ignored.
    public mutating func onDeny(_ body: @escaping @Sendable (HookContext, HookVerdict) async throws -> Void) {
        typed(.deny, Payloads.verdict) { context, verdict in
            try await body(context, verdict)
            return .declined
        }
    }

    /// Told after any plugin answers something other than a denial; the result is ignored.
    public mutating func onOK(_ body: @escaping @Sendable (HookContext, HookVerdict) async throws -> Void) {
        typed(.ok, Payloads.verdict) { context, verdict in
            try await body(context, verdict)
            return .declined
        }
    }

    // MARK: AUTH

    /// Checks credentials. `mechanisms` nil registers the generic `auth` hook, which qpsmtpd asks
    /// after the mechanism-specific ones and which offers every mechanism. `.ok` accepts the user
    /// (and lets them relay), `.deny` refuses, `.declined` leaves it to the next plugin.
    public mutating func onAuth(_ mechanisms: [AuthMechanism]? = nil, _ body: @escaping @Sendable (HookContext, AuthAttempt) async throws -> HookResult) {
        for point in mechanisms?.map(\.hookPoint) ?? [.auth] { typed(point, Payloads.auth, body) }
    }

    public mutating func onAuth(_ mechanisms: [AuthMechanism]? = nil, _ body: @escaping @Sendable (HookContext, AuthAttempt) throws -> HookResult) {
        for point in mechanisms?.map(\.hookPoint) ?? [.auth] { typed(point, Payloads.auth, body) }
    }
}

/// How each hook's call becomes its handler's arguments; nil when the payload does not fit.
enum Payloads {
    static let none: @Sendable (HookCall) -> ()? = { _ in () }
    static let transaction: @Sendable (HookCall) -> (Transaction)? = { $0.transaction }
    static let greeting: @Sendable (HookCall) -> (String, [String])? = { call in
        guard case .greeting(let host, let words) = call.payload else { return nil }
        return (host, words)
    }
    static let path: @Sendable (HookCall) -> (Transaction, String, [ESMTPParameter])? = { call in
        guard case .path(let path, let parameters) = call.payload, let txn = call.transaction else { return nil }
        return (txn, path, parameters)
    }
    static let sender: @Sendable (HookCall) -> (Transaction, ReversePath, [ESMTPParameter])? = { call in
        guard case .sender(let path, let parameters) = call.payload, let txn = call.transaction else { return nil }
        return (txn, path, parameters)
    }
    static let recipient: @Sendable (HookCall) -> (Transaction, Mailbox, [ESMTPParameter])? = { call in
        guard case .recipient(let mailbox, let parameters) = call.payload, let txn = call.transaction else { return nil }
        return (txn, mailbox, parameters)
    }
    static let receivedLine: @Sendable (HookCall) -> (Transaction, ReceivedLineContext)? = { call in
        guard case .receivedLine(let context) = call.payload, let txn = call.transaction else { return nil }
        return (txn, context)
    }
    static let argument: @Sendable (HookCall) -> (String)? = { call in
        guard case .argument(let argument) = call.payload else { return nil }
        return argument
    }
    static let unrecognized: @Sendable (HookCall) -> (String, String)? = { call in
        guard case .unrecognized(let verb, let argument) = call.payload else { return nil }
        return (verb, argument)
    }
    static let verdict: @Sendable (HookCall) -> (HookVerdict)? = { call in
        guard case .verdict(let verdict) = call.payload else { return nil }
        return verdict
    }
    static let auth: @Sendable (HookCall) -> (AuthAttempt)? = { call in
        guard case .auth(let attempt) = call.payload else { return nil }
        return attempt
    }
}
