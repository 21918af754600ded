#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Dispatch
import Logging
import SMTPPluginAPI
import SMTPServer

/// The daemon's entry point, for our executable and for sites that add their own plugins:
///
///     var plugins = PluginRegistry.builtIn
///     plugins.register(MyRateLimit.self, as: "site/rate_limit")
///     SMTPDaemon.main(plugins: plugins)
public enum SMTPDaemon {
    @TaskLocal static var plugins = PluginRegistry.builtIn

    /// The entry point for executables (`main.swift`: `SMTPDaemon.main(plugins: plugins)`). The
    /// daemon runs on the concurrency pool while the main thread only waits. Top-level `await`
    /// would park the main thread in `dispatch_main`, which on Linux leaves it a thread glibc
    /// considers exiting: `setuid` is then not applied to it, and after `--user` one thread of
    /// the process would stay root.
    public static func main(plugins: PluginRegistry = .builtIn, arguments: [String]? = nil) -> Never {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            // The subcommands report their own errors and exit with their own codes.
            try? await run(plugins: plugins, arguments: arguments)
            finished.signal()
        }
        finished.wait()
        exit(0)
    }

    /// Parses the command line (or `arguments`) and runs the chosen subcommand.
    public static func run(plugins: PluginRegistry = .builtIn, arguments: [String]? = nil) async throws {
        LoggingSystem.bootstrap({ _, provider in RoutedLogHandler(level: .trace, metadataProvider: provider) }, metadataProvider: SessionLogContext.metadataProvider)
        await $plugins.withValue(plugins) {
            await QpsmtpdCommand.main(arguments)
        }
    }
}

struct QpsmtpdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qpsmtpd",
        abstract: "An SMTP receiver whose every decision is made by plugins, compatible with qpsmtpd's config directory.",
        discussion: """
            Config files are looked up one by one in --config DIR, then $QPSMTPD_CONFIG, then ./config, \
            then /var/qmail/control. config/plugins lists the plugins in the order they are asked.
            """,
        version: "qpsmtpd for Swift \(SessionSettings.version)",
        subcommands: [ServeCommand.self, InetdCommand.self, CheckConfigCommand.self, PluginsCommand.self],
        defaultSubcommand: ServeCommand.self)
}

/// The options every subcommand that reads config shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("Config directory searched first.", valueName: "dir"))
    var directory: String?
}
