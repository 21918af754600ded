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

    public init(blockingThreads: Int, authFailures: AuthFailureTracker = AuthFailureTracker()) {
        blockingPool = NIOThreadPool(numberOfThreads: max(1, blockingThreads))
        blockingPool.start()
        self.authFailures = authFailures
        dns = DNSResolverCore()
        services = ProductionServices.pluginServices(hostName: "localhost", blocking: ThreadPoolBlockingRunner(pool: blockingPool))
    }

    /// Sized from config `blocking_threads`, read once: changing it needs a restart.
    public convenience init(configDirectory: String?, processEnvironment: [String: String]) {
        let config = DirectoryConfigStore.standard(explicitDirectory: configDirectory, environment: processEnvironment)
        // Deliveries wait on fsync; with one thread per core only two could be in flight, and the
        // disk's group commit needs many concurrent syncs to pay off.
        self.init(blockingThreads: SessionSettings.limits(from: config).blockingThreads)
    }
}
