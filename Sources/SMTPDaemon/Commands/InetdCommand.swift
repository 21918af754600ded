import ArgumentParser
import SMTPServer

struct InetdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inetd",
        abstract: "Run one session on standard input and output (tcpserver, xinetd, systemd Accept=yes).",
        discussion: "The client's address comes from TCPREMOTEIP/TCPREMOTEPORT/TCPLOCALIP/TCPLOCALPORT when set, else from the socket.")

    @OptionGroup var config: ConfigOptions

    @Flag(help: "Start with a TLS handshake (SMTPS on port 465); needs the tls plugin.")
    var implicitTLS = false

    func run() async throws {
        let env = ProcessEnvironment.current
        let resources: DaemonResources
        do {
            resources = try await DaemonResources.open(configDirectory: config.directory, processEnvironment: env)
        } catch {
            printError("\(error)")
            print("421 4.3.0 Service temporarily unavailable (state database unavailable)\r")
            throw ExitCode(78)
        }
        let setup = DaemonSetup.load(configDirectory: config.directory, plugins: SMTPDaemon.plugins, processEnvironment: env, resources: resources)
        setup.installPluginLoggers()
        guard setup.errors.isEmpty else {
            for error in setup.errors { printError("\(error)") }
            // A client is waiting on the other end: tell it, in SMTP, before going away.
            print("421 4.3.0 Service temporarily unavailable (configuration error)\r")
            throw ExitCode(78)
        }
        try await InetdSession.run(environment: setup.environment, processEnvironment: env, implicitTLS: implicitTLS)
        await resources.close()
    }
}
