import Logging
public import SMTPPluginAPI

/// `dont_require_anglebrackets`: accepts `MAIL FROM:user@host` and `RCPT TO:user@host` from broken
/// clients by adding the brackets before the path is parsed; costs the client 2 karma.
public struct DontRequireAngleBrackets: SMTPPlugin {
    private let logger: Logger

    public init(context: PluginContext) throws {
        logger = context.logger
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMailPre { context, _, path, _ in bracket(path, in: "MAIL", context) }
        hooks.onRcptPre { context, _, path, _ in bracket(path, in: "RCPT", context) }
    }

    private func bracket(_ path: String, in command: String, _ context: HookContext) -> HookResult {
        if path.hasPrefix("<") { return .declined }
        logger.info("added \(command) angle brackets")
        context.adjustKarma(by: -2)
        return .ok("<" + path + ">")
    }
}
