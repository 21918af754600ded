public import Logging
public import NIOSSL
import SMTPCore
public import SMTPPluginAPI
import Synchronization

/// Everything sessions share: settings, the plugins' hooks, the logger. Swapped whole on reload.
public struct SessionEnvironment: Sendable {
    public var settings: SessionSettings
    public var hooks: HookRunner
    public var logger: Logger
    /// For STARTTLS and implicit-TLS listeners; nil when no `tls` plugin declared a certificate.
    public var tls: NIOSSLContext?
    /// Shared by all sessions, so guessing passwords across reconnections is noticed; the daemon
    /// passes one tracker to every environment it loads, so a reload does not reset the counts.
    public var authFailures: AuthFailureTracker

    public init(
        settings: SessionSettings, hooks: HookRegistry, logger: Logger, services: PluginServices? = nil,
        pluginExecutor: (any TaskExecutor)? = nil, tls: NIOSSLContext? = nil, authFailures: AuthFailureTracker = AuthFailureTracker()
    ) {
        self.settings = settings
        self.hooks = HookRunner(
            registry: hooks, timeout: settings.limits.pluginTimeout, logger: logger,
            services: services ?? PluginServices(hostName: settings.hostName), pluginExecutor: pluginExecutor)
        self.logger = logger
        self.tls = tls
        self.authFailures = authFailures
    }
}

/// Short, unique-per-process ids for connections and transactions, for logs.
enum SessionIDs {
    private static let counter = Atomic<UInt64>(0)
    private static let prefix = String(UInt64(UInt32.random(in: 0...UInt32.max)), radix: 36)

    static func next() -> String {
        "\(prefix).\(String(counter.add(1, ordering: .relaxed).newValue, radix: 36))"
    }
}

/// Where a session sends its replies; the NIO writer in production.
public protocol SMTPReplySink: Sendable {
    func send(_ parts: [SMTPOutboundPart]) async throws
}
