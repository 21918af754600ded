import Logging
public import SMTPPluginAPI

/// `loop [MAX_HOPS]` (also `check_loop`): at data_post, refuses a message carrying MAX_HOPS
/// (default 100, qmail-smtpd's number) or more Received and Delivered-To fields, with qpsmtpd's
/// `552 Too many hops (#5.4.6)` (RFC 3463 5.4.6: routing loop detected).
///
/// Debian's 0.94 `check_loop` wrapper skipped the setup that reads MAX_HOPS and so refused every
/// message; here `check_loop` is this same plugin.
public struct Loop: SMTPPlugin {
    private let maxHops: Int

    public init(context: PluginContext) throws {
        maxHops = try context.arguments.onlyPositiveNumber("the most hops allowed", default: 100)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            let header = transaction.header
            let hops = header.all(named: "Received").count + header.all(named: "Delivered-To").count
            guard hops >= maxHops else { return .declined }
            context.logger.info("fail, \(hops) hops (at most \(maxHops - 1) allowed)")
            // 552 as qpsmtpd answers a DENY here; the engine's own data_post DENY would say 554.
            return .done(SMTPReply(552, EnhancedStatusCode(5, 4, 6), "Too many hops (#5.4.6)"))
        }
    }
}
