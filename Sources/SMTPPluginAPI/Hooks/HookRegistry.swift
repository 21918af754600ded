public import Logging
import SMTPCore

/// Where plugins register what they do. The typed `on...` methods (HookRegistry+Typed.swift)
/// make a misspelt hook a compile error; the engine keeps the handlers per hook, in
/// `config/plugins` order, each with the plugin's name, logger and common arguments.
public struct HookRegistry: Sendable {
    /// A handler as the engine calls it. Synchronous handlers run inline in the session, with no
    /// task and no thread hop: they must not block. Asynchronous ones run with a deadline and can
    /// be cancelled (see the engine's HookRunner).
    public enum Handler: Sendable {
        case sync(@Sendable (HookCall, HookContext) throws -> HookResult)
        case async(@Sendable (HookCall, HookContext) async throws -> HookResult)
    }

    public typealias LogHandler = @Sendable (LogRecord) -> Void

    public struct Entry: Sendable {
        /// The instance name from `config/plugins` (`relay:0`).
        public var plugin: String
        public var handler: Handler
        /// The plugin's logger (labelled with its name, at its `loglevel`).
        public var logger: Logger
        /// The common arguments of its `config/plugins` line.
        public var policy: PluginPolicy
    }

    /// The plugin registering now: the engine sets it before `register(into:)`.
    public struct Registrant: Sendable {
        public var name: String
        public var logger: Logger
        public var policy: PluginPolicy

        public init(name: String, logger: Logger, policy: PluginPolicy = PluginPolicy()) {
            self.name = name
            self.logger = logger
            self.policy = policy
        }
    }

    public private(set) var handlers: [HookPoint: [Entry]] = [:]
    public private(set) var loggers: [(plugin: String, handler: LogHandler)] = []
    /// The hooks each plugin registered, in order: what `qpsmtpd plugins` and check-config show.
    public private(set) var hooksByPlugin: [(plugin: String, hooks: [HookPoint])] = []
    public var registrant = Registrant(name: "", logger: Logger(label: "qpsmtpd"))

    public init() {}

    public func entries(for point: HookPoint) -> [Entry] { handlers[point] ?? [] }
    public func has(_ point: HookPoint) -> Bool { !(handlers[point]?.isEmpty ?? true) }

    /// The untyped form, for the engine and for hooks without a typed method.
    public mutating func register(_ point: HookPoint, first: Bool = false, _ handler: Handler) {
        let entry = Entry(plugin: registrant.name, handler: handler, logger: registrant.logger, policy: registrant.policy)
        if first { handlers[point, default: []].insert(entry, at: 0) } else { handlers[point, default: []].append(entry) }
        recordHook(point)
    }

    /// Notes that the registering plugin uses `point`, for `hooksByPlugin`.
    private mutating func recordHook(_ point: HookPoint) {
        if let last = hooksByPlugin.indices.last, hooksByPlugin[last].plugin == registrant.name {
            if !hooksByPlugin[last].hooks.contains(point) { hooksByPlugin[last].hooks.append(point) }
        } else {
            hooksByPlugin.append((registrant.name, [point]))
        }
    }

    /// Declares the certificate STARTTLS and implicit-TLS listeners use (the `tls` plugin does this).
    /// The engine builds the TLS context; plugins never see the TLS library.
    public mutating func provideTLS(_ settings: TLSSettings) {
        tlsSettings = settings
    }

    public private(set) var tlsSettings: TLSSettings?

    /// Declares that the registering plugin enforces `max_connections_per_ip` itself at
    /// pre-connection, from `Connection.addressConcurrency` (hosts_allow, which adjusts it by
    /// karma); the listener then refuses only on the total.
    public mutating func enforcePerAddressLimit() {
        perAddressLimitByPlugin = true
    }

    public private(set) var perAddressLimitByPlugin = false

    /// Receives every log record at or below the daemon's log level. Synchronous: logging must not wait.
    /// `upTo`: the most verbose level (0-7) the plugin writes; the daemon then makes records up to
    /// it even above its `loglevel` file, as qpsmtpd hands its logging plugins every record.
    public mutating func onLogging(upTo level: Int? = nil, _ body: @escaping LogHandler) {
        loggers.append((registrant.name, body))
        if let level { loggingCeiling = max(loggingCeiling ?? 0, min(max(level, 0), 7)) }
        recordHook(.logging)
    }

    /// The most verbose level a logging plugin asked for with `onLogging(upTo:)`.
    public private(set) var loggingCeiling: Int?

    static func unexpected(_ point: HookPoint) -> HookResult {
        assertionFailure("hook \(point.rawValue) called with the wrong payload")
        return .declined
    }
}
