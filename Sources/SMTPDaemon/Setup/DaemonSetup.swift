#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOPosix
public import SMTPPluginAPI
public import SMTPServer
import SMTPServices

/// Everything a running daemon is made of, loaded from the config directory.
public struct DaemonSetup: Sendable {
    public var config: DirectoryConfigStore
    public var environment: SessionEnvironment
    /// Problems that stop start-up.
    public var errors: [ConfigError]
    /// Things worth saying that do not stop start-up.
    public var warnings: [String]

    /// Reads config through a fresh store, creates the spool directory, and creates every plugin
    /// anew; start-up and each SIGHUP call it. Only `resources` is carried over from earlier loads.
    public static func load(configDirectory: String?, plugins: PluginRegistry, processEnvironment: [String: String], resources: DaemonResources) -> DaemonSetup {
        let config = DirectoryConfigStore.standard(explicitDirectory: configDirectory, environment: processEnvironment)
        let home = processEnvironment["HOME"] ?? "/tmp"
        let settings = SessionSettings(config: config, defaultHostName: hostName(), defaultSpoolDirectory: home + "/tmp/")
        let level = QpsmtpdLogLevel.swiftLogLevel(config.integer("loglevel") ?? 4)
        var logger = Logger(label: "qpsmtpd")
        logger.logLevel = level

        var errors: [ConfigError] = []
        var warnings: [String] = []
        // A directory named on the command line must be there: a typo would otherwise fall back
        // to ./config or /var/qmail/control and run with settings nobody meant.
        if let configDirectory, let problem = checkConfigDirectory(configDirectory) {
            errors.append(ConfigError(file: configDirectory, line: 0, message: problem))
        }
        if let problem = prepareSpoolDirectory(settings.spoolDirectory) {
            errors.append(ConfigError(file: config.location(of: "spool_dir") ?? "spool_dir", line: 1, message: problem))
        }
        if config.location(of: "plugins") == nil {
            warnings.append("no 'plugins' file in \(config.searchPath.joined(separator: ", ")): every recipient will be refused")
        }
        // The services (and the store behind them) are the process's; only the host name is this load's.
        var services = resources.services
        services.hostName = settings.hostName
        // Servers and timeout are this load's; sockets, cache and server health the process's.
        let (dnsConfiguration, dnsProblems) = DNSResolverConfiguration.load(config: config, resolvConf: DirectoryConfigStore.readFile("/etc/resolv.conf"))
        errors += dnsProblems.map { ConfigError(file: $0.file, line: $0.line, message: $0.message) }
        services.dns = resources.dns.resolver(dnsConfiguration)
        let (hooks, pluginErrors) = PluginLoader(registry: plugins, config: config, services: services, logger: logger).load()
        errors += pluginErrors
        // Records up to the most verbose logging plugin's level are made, as the plugins were given.
        logger = PluginLoader.raised(logger, to: hooks.loggingCeiling)
        if errors.isEmpty && !hooks.has(.queue) {
            warnings.append("no queue plugin loaded: messages will be refused with 451")
        }
        var environment = SessionEnvironment(
            settings: settings, hooks: hooks, logger: logger, services: services,
            pluginExecutor: ThreadPoolTaskExecutor(resources.blockingPool), authFailures: resources.authFailures)
        if let tls = hooks.tlsSettings {
            do {
                environment.tls = try TLSContextFactory.make(tls)
            } catch {
                errors.append(ConfigError(file: config.location(of: "plugins") ?? "plugins", line: config.entries("plugins").first { $0.text.hasPrefix("tls") }?.lineNumber ?? 0, message: "\(error)"))
            }
        }
        if settings.tlsBeforeAuth && hooks.tlsSettings == nil && !AuthMechanism.allCases.allSatisfy({ !hooks.has($0.hookPoint) }) {
            warnings.append("tls_before_auth is set but no tls plugin is loaded: AUTH will never be offered")
        }
        return DaemonSetup(config: config, environment: environment, errors: errors, warnings: warnings)
    }

    /// Sends log records to this setup's `logging/*` plugins. Separate from `load`, so a reload
    /// that fails leaves the running configuration's loggers in place.
    public func installPluginLoggers() {
        LogRouter.shared.setPluginLoggers(environment.hooks.registry.loggers.map(\.handler))
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Nil when `path` is a directory we can list; else why not.
    static func checkConfigDirectory(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return "config directory: \(String(cString: strerror(errno)))"
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "config directory: not a directory" }
        guard faccessat(AT_FDCWD, path, R_OK | X_OK, AT_EACCESS) == 0 else {
            return "config directory: \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Creates the spool directory (mode 0700) if needed and checks we can write there.
    static func prepareSpoolDirectory(_ path: String) -> String? {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) != 0 && errno != EEXIST {
                return "cannot create spool directory \(partial): \(String(cString: strerror(errno)))"
            }
        }
        // Effective ids: under --user the check runs as that user (see Privileges).
        if faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0 {
            return "spool directory \(path) is not writable: \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
