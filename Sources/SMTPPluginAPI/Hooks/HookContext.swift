public import Logging

/// What one hook call gets besides its payload: the connection and transaction, the time it
/// has, a logger that names the connection, plugin and hook, the engine's services, and
/// qpsmtpd's plugin helpers, done once for every plugin (Qpsmtpd::Plugin's `get_reject`,
/// `is_immune`, `adjust_karma`, `store_auth_results`).
public struct HookContext: Sendable {
    public let connection: Connection
    public let transaction: Transaction?
    public let hook: HookPoint
    /// The instance name from `config/plugins`.
    public let plugin: String
    /// When this call must have answered: `plugin_timeout`, or the plugin's own `timeout`.
    /// Pass it to the services (DNS, connections, programs) so they give up in time.
    public let deadline: ContinuousClock.Instant
    public let services: PluginServices
    public let policy: PluginPolicy
    private let baseLogger: Logger

    public init(
        connection: Connection, transaction: Transaction?, hook: HookPoint, plugin: String,
        deadline: ContinuousClock.Instant, services: PluginServices, policy: PluginPolicy = PluginPolicy(), logger: Logger
    ) {
        self.connection = connection
        self.transaction = transaction
        self.hook = hook
        self.plugin = plugin
        self.deadline = deadline
        self.services = services
        self.policy = policy
        self.baseLogger = logger
    }

    /// The plugin's logger, with the connection and hook in every record. Made on first use, so a
    /// hook that does not log pays nothing for it.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "conn"] = "\(connection.id)"
        logger[metadataKey: "hook"] = "\(hook.rawValue)"
        return logger
    }

    /// Time left before the deadline.
    public var timeRemaining: Duration { deadline - .now }

    // MARK: qpsmtpd's helpers

    /// A client policy checks leave alone: a relay client, a host marked `whitelisthost`, or a
    /// sender marked `whitelistsender` (qpsmtpd's `is_immune`).
    public var isImmune: Bool {
        if connection.isRelayClient { return true }
        if connection[note: .whitelistHost] == true { return true }
        if transaction?[note: .whitelistSender] == true { return true }
        return false
    }

    /// The answer for a failed check, as the plugin's `reject` and `reject_type` arguments say
    /// (qpsmtpd's `get_reject`): `reject 0` logs `fail, tolerated` and declines; `reject naughty`
    /// leaves the refusal to the `naughty` plugin (connection notes `naughty` and
    /// `naughty_reject_type`) and declines; `reject 1` refuses with `reject_type`.
    /// `defaultReject` and `defaultType` apply when the line does not say.
    public func reject(
        _ message: String, log: String? = nil,
        defaultReject: PluginArguments.Reject = .yes, defaultType: PluginArguments.RejectType = .perm
    ) -> HookResult {
        let type = policy.rejectType ?? defaultType
        switch policy.reject ?? defaultReject {
        case .no:
            logger.info("fail, tolerated: \(log ?? message)")
            return .declined
        case .naughty:
            logger.info("fail, naughty: \(log ?? message)")
            connection[note: .naughty] = message
            connection[note: .naughtyRejectType] = type.rawValue
            return .declined
        case .yes:
            logger.info("fail: \(log ?? message)")
            return type.result(message)
        }
    }

    /// Changes the connection's karma (qpsmtpd's `adjust_karma`), for the `karma` plugin to weigh.
    public func adjustKarma(by change: Int) {
        connection[note: .karma] = (connection[note: .karma] ?? 0) + change
    }

    /// Adds a result (`spf=pass smtp.mailfrom=…`) to the Authentication-Results header the
    /// engine writes on accepted messages (qpsmtpd's `store_auth_results`).
    public func addAuthenticationResult(_ result: String) {
        connection[note: .authenticationResults] = (connection[note: .authenticationResults] ?? []) + [result]
    }
}
