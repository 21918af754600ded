import Logging
import SMTPServer
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The environment new connections get; swapped whole on reload.
final class EnvironmentBox: Sendable {
    private let value: Mutex<SessionEnvironment>
    init(_ environment: SessionEnvironment) { value = Mutex(environment) }
    var current: SessionEnvironment {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// SIGHUP loads the config directory and every plugin again, as at start-up, and hands the result
/// to new connections. Open sessions keep the environment they started with. A load with any
/// error changes nothing: the running configuration stays, problems go to the log.
struct ReloadOnHangup: Service {
    /// A full load, with the same arguments as at start-up.
    let load: @Sendable () -> DaemonSetup
    let box: EnvironmentBox

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            reload()
        }
    }

    func reload() {
        let setup = load()
        guard setup.errors.isEmpty else {
            // The running configuration's logger: its loglevel is the one still in force.
            let logger = box.current.logger
            for error in setup.errors { logger.error("\(error)") }
            logger.error("reload failed: the previous configuration keeps serving")
            return
        }
        let newLogger = setup.environment.logger
        for warning in setup.warnings { newLogger.warning("\(warning)") }
        // Loggers first: a session accepted right after the swap logs through the new plugins.
        setup.installPluginLoggers()
        box.current = setup.environment
        newLogger.notice("reloaded config\(setup.environment.tls != nil ? ", plugins and TLS certificate" : " and plugins")")
    }
}
