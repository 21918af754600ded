import Logging
public import SMTPPluginAPI

/// `auth/authdeny`: qpsmtpd's proof of concept for the generic `auth` hook. It registers there,
/// so the core offers every mechanism, and it never accepts anyone: each attempt is logged and
/// DECLINED, which ends in `535 ... authentication failed` unless another plugin said OK first.
public struct AuthDeny: SMTPPlugin {
    private let logger: Logger

    public init(context: PluginContext) throws {
        logger = context.logger
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onAuth { [logger] _, attempt in
            logger.warning("fail: \(attempt.user) is not free to abuse my relay")
            return .declined
        }
    }
}
