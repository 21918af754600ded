import Logging
public import SMTPPluginAPI

/// `noop_counter [N]`: closes the connection at the Nth NOOP in a row (default 3) with
/// `500 Stop wasting my time, too many consecutive NOOPs`; any other command it hears of (HELO,
/// EHLO, MAIL, RCPT, DATA, RSET, VRFY, HELP) starts the count again. Load it early, so no plugin
/// before it answers those commands first.
public struct NoopCounter: SMTPPlugin {
    static let count = NoteKey<Int>("noop_count")
    private let limit: Int

    public init(context: PluginContext) throws {
        limit = try context.arguments.onlyPositiveNumber("the number of NOOPs", default: 3)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onNoop { context in
            let count = (context.connection[note: Self.count] ?? 0) + 1
            context.connection[note: Self.count] = count
            guard count >= limit else { return .declined }
            context.logger.info("fail, \(count) consecutive NOOPs")
            return .denyDisconnect("Stop wasting my time, too many consecutive NOOPs")
        }
        hooks.onHelo { context, _, _ in reset(context) }
        hooks.onEhlo { context, _, _ in reset(context) }
        hooks.onMail { context, _, _, _ in reset(context) }
        hooks.onRcpt { context, _, _, _ in reset(context) }
        hooks.onData { context, _ in reset(context) }
        hooks.onResetTransaction { context, _ in reset(context) }
        hooks.onVrfy { context, _ in reset(context) }
        hooks.onHelp { context, _ in reset(context) }
    }

    private func reset(_ context: HookContext) -> HookResult {
        context.connection[note: Self.count] = 0
        return .declined
    }
}
