public import Logging

/// A plugin: made at (re)load from its `config/plugins` line, then asked at the hooks it
/// registers. Which hooks those are is whatever `register(into:)` registers; nothing restates it.
///
///     struct QuitFortune: SMTPPlugin {
///         init(context: PluginContext) throws {}
///         func register(into hooks: inout HookRegistry) {
///             hooks.onQuit { _ in .done(SMTPReply(221, .ok, "Bye")) }
///         }
///     }
public protocol SMTPPlugin: Sendable {
    /// Reads arguments and config files; throws to stop the (re)load with the file and line.
    init(context: PluginContext) throws
    func register(into hooks: inout HookRegistry)
}

/// What a plugin is made from.
public struct PluginContext: Sendable {
    /// The name as written in `config/plugins`, with any `:N` instance suffix (`relay:0`).
    public var instanceName: String
    public var arguments: PluginArguments
    public var config: any ConfigStore
    /// Labelled with the plugin's name.
    public var logger: Logger
    public var services: PluginServices

    public init(instanceName: String, arguments: PluginArguments, config: any ConfigStore, logger: Logger, services: PluginServices) {
        self.instanceName = instanceName
        self.arguments = arguments
        self.config = config
        self.logger = logger
        self.services = services
    }
}

/// Runs blocking work (file syncs, subprocess waits) away from the threads that run sessions.
public protocol BlockingWorkRunner: Sendable {
    func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result
}

/// Runs the work in place; for tests and tools.
public struct InlineBlockingWorkRunner: BlockingWorkRunner {
    public init() {}
    public func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try work()
    }
}

/// Services the engine hands to plugins, so plugins never reach for NIO themselves. The defaults
/// suit unit tests: work runs inline, state lives in memory, and DNS, outbound connections and
/// programs throw a clear "not configured" error until given real ones (`SMTPServices` builds the
/// daemon's; `SMTPTesting` has stubs).
public struct PluginServices: Sendable {
    public var blocking: any BlockingWorkRunner
    /// This server's name (config `me`).
    public var hostName: String
    public var dns: any DNSResolver
    public var connector: any OutboundConnector
    public var programs: any ProgramRunner
    /// Shared by every plugin and connection; see `StateStore` about keys.
    public var store: any StateStore
    public var clock: any PluginClock
    /// Reads spooled messages without blocking the session's thread.
    public var spool: any SpoolReader

    public init(
        blocking: any BlockingWorkRunner = InlineBlockingWorkRunner(),
        hostName: String,
        dns: any DNSResolver = UnconfiguredDNSResolver(),
        connector: any OutboundConnector = UnconfiguredOutboundConnector(),
        programs: any ProgramRunner = UnconfiguredProgramRunner(),
        store: (any StateStore)? = nil,
        clock: any PluginClock = SystemPluginClock(),
        spool: (any SpoolReader)? = nil
    ) {
        self.blocking = blocking
        self.hostName = hostName
        self.dns = dns
        self.connector = connector
        self.programs = programs
        self.store = store ?? InMemoryStateStore(clock: clock)
        self.clock = clock
        self.spool = spool ?? BlockingSpoolReader(blocking: blocking)
    }
}
