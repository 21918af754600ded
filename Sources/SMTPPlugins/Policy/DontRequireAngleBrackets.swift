import Logging
import SMTPPluginAPI

/// `dont_require_anglebrackets`: accepts `MAIL FROM:user@host` and `RCPT TO:user@host` from broken
/// clients by adding the brackets before the path is parsed; costs the client 2 karma.
public struct DontRequireAngleBrackets: SMTPPlugin {
    public static let registeredHooks: [HookPoint] = [.mailPre, .rcptPre]

    private let logger: Logger

    public init(context: PluginContext) throws {
        logger = context.logger
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMailPre { connection, _, path, _ in bracket(path, in: "MAIL", connection) }
        hooks.onRcptPre { connection, _, path, _ in bracket(path, in: "RCPT", connection) }
    }

    private func bracket(_ path: String, in command: String, _ connection: Connection) -> HookResult {
        if path.hasPrefix("<") { return .declined }
        logger.info("added \(command) angle brackets")
        connection[note: .karma] = (connection[note: .karma] ?? 0) - 2
        return .ok("<" + path + ">")
    }
}
