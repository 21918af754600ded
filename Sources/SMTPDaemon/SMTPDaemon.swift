import ArgumentParser
import Logging
import SMTPPluginAPI
import SMTPServer

/// The daemon's entry point, for our executable and for sites that add their own plugins:
///
///     var plugins = PluginRegistry.builtIn
///     plugins.register(MyRateLimit.self, as: "site/rate_limit")
///     try await SMTPDaemon.run(plugins: plugins)
public enum SMTPDaemon {
    @TaskLocal static var plugins = PluginRegistry.builtIn

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
