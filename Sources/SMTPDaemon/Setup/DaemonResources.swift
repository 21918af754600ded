public import NIOPosix
public import SMTPPluginAPI
public import SMTPServer
public import SMTPServices

/// What lives as long as the process: made once, handed to every (re)load. Rebuilding these at
/// SIGHUP would leak the old pool's threads and forget AUTH failures counted so far.
public final class DaemonResources: Sendable {
    /// Where plugins run blocking work (fsync, subprocess waits).
    public let blockingPool: NIOThreadPool
    /// AUTH failures per address and account, across connections and reloads.
    public let authFailures: AuthFailureTracker
    /// What plugins ask of the engine (connections, programs, the state store, ...). Made once,
    /// so state a plugin keeps in the store (greylisting, karma) survives a reload.
    public let services: PluginServices
    /// The DNS resolver's sockets, cache and knowledge of dead servers; each load adds its servers.
    public let dns: DNSResolverCore
    /// The database behind `services.store` when there is one (serve, inetd), to close at exit.
    public let persistentStore: SQLiteStateStore?

    public init(blockingThreads: Int, authFailures: AuthFailureTracker = AuthFailureTracker(), store: SQLiteStateStore? = nil) {
        blockingPool = NIOThreadPool(numberOfThreads: max(1, blockingThreads))
        blockingPool.start()
        self.authFailures = authFailures
        dns = DNSResolverCore()
        persistentStore = store
        services = ProductionServices.pluginServices(
            hostName: "localhost", blocking: ThreadPoolBlockingRunner(pool: blockingPool), store: store)
    }

    /// Sized from config `blocking_threads`, read once: changing it needs a restart. The state
    /// store stays in memory (check-config and tools, which must not create the state directory).
    public convenience init(configDirectory: String?, processEnvironment: [String: String]) {
        let config = DirectoryConfigStore.standard(explicitDirectory: configDirectory, environment: processEnvironment)
        // Deliveries wait on fsync; with one thread per core only two could be in flight, and the
        // disk's group commit needs many concurrent syncs to pay off.
        self.init(blockingThreads: SessionSettings.limits(from: config).blockingThreads)
    }

    /// As the daemon runs: with the persistent state store in config `state_dir` (default: beside
    /// `spool_dir`), opened once, so it too needs a restart to move. Throws
    /// `SQLiteStateStore.OpenError` when the directory or database cannot be used.
    public static func open(configDirectory: String?, processEnvironment: [String: String]) async throws -> DaemonResources {
        let config = DirectoryConfigStore.standard(explicitDirectory: configDirectory, environment: processEnvironment)
        let directory = stateDirectory(config: config, processEnvironment: processEnvironment)
        let store = try await SQLiteStateStore.open(directory: directory)
        // AUTH failures are kept there too, so a restart does not wipe a guesser's record.
        return DaemonResources(
            blockingThreads: SessionSettings.limits(from: config).blockingThreads, authFailures: AuthFailureTracker(store: store), store: store)
    }

    /// Config `state_dir`, else beside the spool directory the load will use.
    public static func stateDirectory(config: any ConfigStore, processEnvironment: [String: String]) -> String {
        let home = processEnvironment["HOME"] ?? "/tmp"
        let spool = config.value("spool_dir") ?? home + "/tmp/"
        return StateDirectory.path(configured: config.value("state_dir"), spoolDirectory: spool)
    }

    /// Closes the state database at exit (its WAL is checkpointed into the main file).
    public func close() async {
        try? await persistentStore?.close()
    }
}
