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

/// SIGHUP re-reads config files and the TLS certificate without dropping open sessions.
struct ReloadOnHangup: Service {
    let setup: DaemonSetup
    let box: EnvironmentBox
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            do {
                box.current = try setup.reloaded(from: box.current)
                logger.notice("reloaded config\(box.current.tls != nil ? " and TLS certificate" : "")")
            } catch {
                logger.error("reload failed, keeping the previous settings: \(error)")
            }
        }
    }
}
