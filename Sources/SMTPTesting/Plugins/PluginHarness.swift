public import Logging
import NIOPosix
public import SMTPCore
public import SMTPDaemon
public import SMTPPluginAPI
public import SMTPServer

/// Calls a plugin's hooks the way a session does — loaded from a `config/plugins` line by the
/// daemon's loader, called through the engine's hook runner, so `reject`, `reject_type`,
/// `timeout` and `loglevel` apply — with no session and no sockets:
///
///     let badmailfrom = try PluginHarness("badmailfrom", config: ["badmailfrom": ["spam@example.com"]])
///     #expect(try await badmailfrom.mail(from: "spam@example.com") == .deny("Your envelope sender is in my badmailfrom list"))
///
/// Each call runs every plugin the harness loaded at that hook, in order, and returns what the
/// first one that did not decline answered (`.declined` when none did).
public final class PluginHarness {
    public let hooks: HookRunner
    public let connection: Connection
    /// The transaction MAIL started, RCPT added to and the message hooks see.
    public private(set) var transaction: Transaction

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public struct HookFailed: Error, CustomStringConvertible {
        public var description: String
    }

    /// `lines`: `config/plugins` lines (`"rcpt_ok"`, `"relay only 1"`); `config`: other config
    /// files; `services`: stubs for what the plugins ask of the engine.
    public init(
        _ lines: String..., config: [String: [String]] = [:], plugins registry: PluginRegistry = .builtIn,
        services: PluginServices = PluginServices(hostName: "mx.test.example"), remoteIP: String = "192.0.2.10",
        pluginTimeout: Duration = .seconds(5), logLevel: Logger.Level = .critical
    ) throws {
        var files = config
        files["plugins"] = lines
        var logger = Logger(label: "plugin-harness")
        logger.logLevel = logLevel
        let (registry, errors) = PluginLoader(registry: registry, config: InMemoryConfigStore(files), services: services, logger: logger).load()
        if !errors.isEmpty { throw LoadError(description: errors.map(\.description).joined(separator: "; ")) }
        hooks = HookRunner(registry: registry, timeout: pluginTimeout, logger: logger, services: services, pluginExecutor: ThreadPoolTaskExecutor(TestThreads.pool))
        connection = Connection(id: "harness", remoteIP: remoteIP, remotePort: 40000, localIP: "192.0.2.1", localPort: 25)
        transaction = Transaction(id: "harness.1")
    }

    /// A harness for a plugin that is not built in: `type` is registered under the first word of
    /// `line` (`PluginHarness(BadMailFrom.self, "site/badmailfrom reject 0")`).
    public convenience init(
        _ type: any SMTPPlugin.Type, _ line: String, config: [String: [String]] = [:],
        services: PluginServices = PluginServices(hostName: "mx.test.example"), remoteIP: String = "192.0.2.10"
    ) throws {
        var registry = PluginRegistry.builtIn
        registry.register(type, as: String(line.split(separator: " ").first ?? ""))
        try self.init(line, config: config, plugins: registry, services: services, remoteIP: remoteIP)
    }

    /// Runs `point` with `payload`; a plugin that threw or overran its time is an error here.
    @discardableResult
    public func run(_ point: HookPoint, _ payload: HookPayload = .none) async throws -> HookResult {
        switch await hooks.run(point, HookCall(connection: connection, transaction: transaction, payload: payload)) {
        case .declined: return .declined
        case .answered(let result, _): return result
        case .failed(let plugin, let reason): throw HookFailed(description: "\(plugin) at \(point.rawValue): \(reason)")
        }
    }

    @discardableResult
    public func connect() async throws -> HookResult { try await run(.connect) }

    @discardableResult
    public func helo(_ host: String) async throws -> HookResult { try await run(.helo, .greeting(host: host, words: [])) }

    @discardableResult
    public func ehlo(_ host: String) async throws -> HookResult { try await run(.ehlo, .greeting(host: host, words: [])) }

    /// MAIL with `address` (`<>` for the null sender); a new transaction, as MAIL starts one. An
    /// accepted sender is recorded on the transaction.
    @discardableResult
    public func mail(from address: String, parameters: [ESMTPParameter] = []) async throws -> HookResult {
        transaction = Transaction(id: "harness.\(UInt32.random(in: 0...UInt32.max))")
        let path = try PathParser.parseReversePath(Self.bracketed(address))
        let result = try await run(.mail, .sender(path, parameters))
        if Self.accepts(result) { transaction.sender = path }
        return result
    }

    /// mail_pre with the path as the client wrote it (`.ok("<new>")` would replace it).
    @discardableResult
    public func mailPre(_ path: String, parameters: [ESMTPParameter] = []) async throws -> HookResult {
        try await run(.mailPre, .path(path, parameters))
    }

    /// rcpt_pre with the path as the client wrote it.
    @discardableResult
    public func rcptPre(_ path: String, parameters: [ESMTPParameter] = []) async throws -> HookResult {
        try await run(.rcptPre, .path(path, parameters))
    }

    /// RCPT with `address`; an accepted recipient is added to the transaction.
    @discardableResult
    public func rcpt(to address: String, parameters: [ESMTPParameter] = []) async throws -> HookResult {
        let mailbox = try PathParser.parseForwardPath(Self.bracketed(address))
        let result = try await run(.rcpt, .recipient(mailbox, parameters))
        if Self.accepts(result) { transaction.addRecipient(mailbox) }
        return result
    }

    /// RCPT with a mailbox as given, for recipients the session's parser would refuse before any
    /// plugin saw them (`<abuse>`, a trailing dot): a plugin's own defences can still be tested.
    @discardableResult
    public func rcpt(_ mailbox: Mailbox, parameters: [ESMTPParameter] = []) async throws -> HookResult {
        let result = try await run(.rcpt, .recipient(mailbox, parameters))
        if Self.accepts(result) { transaction.addRecipient(mailbox) }
        return result
    }

    /// Puts `message` (header, blank line, body; CRLF or LF) on the transaction, as DATA would,
    /// for the data_post and queue hooks.
    /// `memoryThreshold` 0 puts the body in a spool file, as a large message would be.
    public func setMessage(_ message: String, spoolDirectory: String = "/tmp", memoryThreshold: Int = 1 << 20) throws {
        let bytes = Array(message.utf8)
        let spool = SpooledMessage(spoolDirectory: spoolDirectory, memoryThreshold: memoryThreshold)
        try spool.append(bytes)
        let parsed = MessageHeader.parse(bytes, isComplete: true)!
        spool.bodyOffset = parsed.bodyOffset
        transaction.header = parsed.header
        transaction.body = spool
    }

    /// A command no built-in handles, as the session passes it to `unrecognized_command`.
    @discardableResult
    public func unrecognized(_ verb: String, _ argument: String = "") async throws -> HookResult {
        try await run(.unrecognizedCommand, .unrecognized(verb: verb, argument: argument))
    }

    /// An AUTH attempt as the session makes it: the mechanism's own hook, then the generic
    /// `auth` hook if that declined.
    @discardableResult
    public func auth(
        _ mechanism: AuthMechanism, user: String, password: String? = nil, digest: String? = nil, challenge: String? = nil
    ) async throws -> HookResult {
        try await auth(AuthAttempt(mechanism: mechanism, user: user, password: password, digest: digest, challenge: challenge))
    }

    @discardableResult
    public func auth(_ attempt: AuthAttempt) async throws -> HookResult {
        let result = try await run(attempt.mechanism.hookPoint, .auth(attempt))
        if case .declined = result { return try await run(.auth, .auth(attempt)) }
        return result
    }

    /// What the loaded plugins registered: handlers per hook, log handlers.
    public var registry: HookRegistry { hooks.registry }

    /// The hooks the loaded plugins registered (`auth_plain`, `rcpt`, ...).
    public var registeredHooks: Set<HookPoint> {
        Set(HookPoint.allCases.filter { registry.has($0) })
    }

    @discardableResult
    public func dataPost() async throws -> HookResult { try await run(.dataPost) }

    @discardableResult
    public func queue() async throws -> HookResult { try await run(.queue) }

    private static func bracketed(_ address: String) -> String {
        address.hasPrefix("<") ? address : "<\(address)>"
    }

    private static func accepts(_ result: HookResult) -> Bool {
        switch result {
        case .ok, .declined: return true
        case .done(let reply): return reply.isPositive
        default: return false
        }
    }
}
