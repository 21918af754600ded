import ArgumentParser
import SMTPPluginAPI
import SMTPServer

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Load the config directory and every plugin, report problems, exit non-zero on any.")

    @OptionGroup var config: ConfigOptions

    func run() async throws {
        let env = ProcessEnvironment.current
        // The same load as serve's: a config that passes here also starts (and reloads).
        let resources = DaemonResources(configDirectory: config.directory, processEnvironment: env)
        let setup = DaemonSetup.load(configDirectory: config.directory, plugins: SMTPDaemon.plugins, processEnvironment: env, resources: resources)
        for warning in setup.warnings { printError("warning: \(warning)") }
        for error in setup.errors { printError("error: \(error)") }
        guard setup.errors.isEmpty else { throw ExitCode(1) }
        print("config OK: \(setup.config.entries("plugins").count) plugin line(s), me=\(setup.environment.settings.hostName)")
        // The hooks each plugin registered as configured: derived from the load, never restated.
        for (plugin, hooks) in setup.environment.hooks.registry.hooksByPlugin {
            print("  \(plugin): \(hooks.map(\.rawValue).joined(separator: ", "))")
        }
    }
}
