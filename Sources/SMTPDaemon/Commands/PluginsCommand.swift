import ArgumentParser
import Logging
import SMTPPluginAPI
import SMTPServer

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins this binary knows, with the hooks each registers.",
        discussion: """
            The hooks are what each plugin registers when loaded without arguments and with an empty \
            config; arguments can add hooks (relay's `only 1` adds rcpt). `check-config` shows the hooks \
            of the plugins a config directory actually loads.
            """)

    func run() async throws {
        let registry = SMTPDaemon.plugins
        let width = registry.names.map(\.count).max() ?? 0
        for name in registry.names {
            print(name.padding(width) + "  " + Self.probe(registry.type(named: name)!, name: name))
        }
    }

    /// The hooks `type` registers with no arguments and no config files, or why it cannot load so.
    static func probe(_ type: any SMTPPlugin.Type, name: String) -> String {
        var logger = Logger(label: "qpsmtpd-probe")
        logger.logLevel = .critical
        let context = PluginContext(
            instanceName: name, arguments: PluginArguments([]), config: InMemoryConfigStore([:]),
            logger: logger, services: PluginServices(hostName: "localhost"))
        guard let plugin = try? type.init(context: context) else { return "(needs arguments: see the README)" }
        var hooks = HookRegistry()
        hooks.registrant = HookRegistry.Registrant(name: name, logger: logger)
        plugin.register(into: &hooks)
        let points = hooks.hooksByPlugin.flatMap(\.hooks).map(\.rawValue)
        if points.isEmpty { return hooks.tlsSettings != nil ? "(provides the TLS certificate)" : "(none)" }
        return points.joined(separator: ", ")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
