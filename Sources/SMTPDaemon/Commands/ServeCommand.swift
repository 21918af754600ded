#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import NIOCore
import SMTPCore
import SMTPPluginAPI
import SMTPServer
import ServiceLifecycle
import UnixSignals
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: listen, and run one session per connection (the default).")

    @OptionGroup var config: ConfigOptions

    @Option(name: .customLong("listen"), help: ArgumentHelp("Address to listen on; repeat for several. Port 0 picks a free port.", valueName: "host:port"))
    var listen: [String] = []

    @Option(name: .customLong("tls-listen"), help: ArgumentHelp("Address for implicit TLS (SMTPS, port 465); needs the tls plugin. Repeatable.", valueName: "host:port"))
    var tlsListen: [String] = []

    @Option(help: "Most connections at once (config max_connections; default 1000). 0 = no limit.")
    var maxConnections: Int?

    @Option(help: "Most connections from one address (config max_connections_per_ip; default 20). 0 = no limit.")
    var maxPerIP: Int?

    @Option(help: "After binding, switch to this user (and its group).")
    var user: String?

    @Option(help: "Seconds that sessions get to finish after SIGTERM/SIGINT before they are cut off.")
    var shutdownGrace: Int = Int(SMTPLimits.defaults.shutdownGrace.components.seconds)

    func run() async throws {
        // With --user, config and plugins are loaded as that user (only the ports are bound as
        // root): directories they create (spool, Maildir) belong to it, and whatever loads now
        // also loads at SIGHUP, when we are that user for good. qpsmtpd loads after setuid too.
        let account = try user.map { name in
            do { return try Privileges.Account(named: name) } catch {
                printError("cannot switch to user \(name): \(error)")
                throw ExitCode(77)  // EX_NOPERM
            }
        }
        if let account {
            do { try Privileges.assumeTemporarily(account) } catch {
                printError("cannot switch to user \(account.name): \(error)")
                throw ExitCode(77)
            }
        }
        var processEnvironment = ProcessEnvironment.current
        if let account { processEnvironment["HOME"] = account.home }
        // The state database is opened as the user too, so its files are the user's.
        let resources: DaemonResources
        do {
            resources = try await DaemonResources.open(configDirectory: config.directory, processEnvironment: processEnvironment)
        } catch {
            printError("\(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
        // SIGHUP runs the same load, as the same user, with the same resources.
        let directory = config.directory
        let plugins = SMTPDaemon.plugins
        let loadEnvironment = processEnvironment
        let load: @Sendable () -> DaemonSetup = {
            DaemonSetup.load(configDirectory: directory, plugins: plugins, processEnvironment: loadEnvironment, resources: resources)
        }
        let setup = load()
        setup.installPluginLoggers()
        if account != nil {
            do { try Privileges.regainRoot() } catch {
                printError("cannot switch back to root to bind: \(error)")
                throw ExitCode(77)
            }
        }
        let logger = setup.environment.logger
        for warning in setup.warnings { logger.warning("\(warning)") }
        guard setup.errors.isEmpty else {
            for error in setup.errors { printError("\(error)") }
            throw ExitCode(78)  // EX_CONFIG
        }
        var addresses = try (listen.isEmpty && tlsListen.isEmpty ? ["127.0.0.1:2525"] : listen).map(ListenAddress.parse)
        var tlsAddresses = try tlsListen.map(ListenAddress.parse)
        for index in tlsAddresses.indices { tlsAddresses[index].implicitTLS = true }
        addresses += tlsAddresses
        if !tlsAddresses.isEmpty && setup.environment.tls == nil {
            printError("--tls-listen needs a certificate: add the tls plugin to config/plugins")
            throw ExitCode(78)
        }
        // Connection limits are read at start-up only: listeners keep theirs across reloads.
        let limits = setup.environment.settings.limits
        let limiter = ConnectionLimiter(
            maxConnections: maxConnections ?? limits.maxConnections,
            maxPerIP: maxPerIP ?? limits.maxConnectionsPerIP,
            stressThreshold: limits.stressThreshold)
        let box = EnvironmentBox(setup.environment)
        let listenerCount = addresses.count
        let boundCount = Atomic<Int>(0)
        let listeners = addresses.map { address in
            SMTPListener(host: address.host, port: address.port, implicitTLS: address.implicitTLS, limiter: limiter, environment: { box.current }) { bound in
                printError("listening on \(ListenAddress.describe(bound))\(address.implicitTLS ? " (TLS)" : "")")
                // Privileges go once every port is bound, so port 25 works from root.
                if boundCount.add(1, ordering: .relaxed).newValue == listenerCount, let account {
                    do { try Privileges.drop(to: account) } catch {
                        printError("cannot switch to user \(account.name): \(error)")
                        Glibc.exit(77)
                    }
                }
            }
        }
        var configuration = ServiceGroupConfiguration(
            services: listeners.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
                + [ServiceGroupConfiguration.ServiceConfiguration(service: ReloadOnHangup(load: load, box: box))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger)
        // Past the grace period, sessions still open are cancelled.
        configuration.maximumGracefulShutdownDuration = Duration.seconds(shutdownGrace)
        try await ServiceGroup(configuration: configuration).run()
        await resources.close()
        logger.notice("stopped")
    }
}

/// `host:port`, `[v6]:port` or `:port`.
struct ListenAddress {
    var host: String
    var port: Int
    var implicitTLS = false

    static func parse(_ text: String) throws -> ListenAddress {
        var host = "0.0.0.0"
        var portText = text
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = String(text[text.index(after: close)...].dropFirst())
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = String(text[text.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("--listen wants host:port, got '\(text)'")
        }
        return ListenAddress(host: host, port: port)
    }

    static func describe(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        return ip.contains(":") ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)"
    }
}

func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}
