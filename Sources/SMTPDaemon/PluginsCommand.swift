import ArgumentParser
import SMTPPluginAPI
import SMTPServer

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins this binary knows, with the hooks each registers.")

    func run() async throws {
        let registry = SMTPDaemon.plugins
        let width = registry.names.map(\.count).max() ?? 0
        for name in registry.names {
            let hooks = registry.type(named: name)!.registeredHooks.map(\.rawValue).joined(separator: ", ")
            print(name.padding(width) + "  " + hooks)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
