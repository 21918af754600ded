import Logging
import NIOPosix
import SMTPDaemon
import SMTPPluginAPI
import SMTPServer
import SMTPServices

/// Builds a session environment as the daemon does, from in-memory config files, for every test
/// setup (live listener, embedded channel, bare session), so they all run the same plugins the
/// same way. Plugin loading problems are thrown, not logged, so a test sees them.
enum TestEnvironment {
    /// `dns` replaces the plugins' resolver (a `StubDNSResolver`).
    static func make(config files: [String: [String]], plugins registry: PluginRegistry, logLevel: Logger.Level, dns: (any DNSResolver)? = nil, store: (any StateStore)? = nil) throws -> SessionEnvironment {
        var files = files
        if files["spool_dir"] == nil { files["spool_dir"] = [TemporaryDirectory.make(prefix: "spool")] }
        let config = InMemoryConfigStore(files)
        var logger = Logger(label: "qpsmtpd-test")
        logger.logLevel = logLevel
        let settings = SessionSettings(config: config, defaultHostName: "mx.test.example", defaultSpoolDirectory: files["spool_dir"]![0])
        let pool = TestThreads.pool
        var services = ProductionServices.pluginServices(hostName: settings.hostName, blocking: ThreadPoolBlockingRunner(pool: pool))
        if let dns { services.dns = dns }
        if let store { services.store = store }
        let (hooks, errors) = PluginLoader(registry: registry, config: config, services: services, logger: logger).load()
        if let first = errors.first { throw first }
        return SessionEnvironment(settings: settings, hooks: hooks, logger: logger, services: services, pluginExecutor: ThreadPoolTaskExecutor(pool))
    }
}
