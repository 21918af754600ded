import Logging
public import SMTPPluginAPI

/// `random_error [PERCENT]` — fault injection for testing clients: at each of connect, helo,
/// ehlo, mail, rcpt, data and data_post it fails with chance PERCENT/6 % (default 1: about 1 %
/// of sessions), so over a session roughly PERCENT % of them fail somewhere. Two failures in
/// five are DENYSOFT_DISCONNECT, the others DENYSOFT, both `random failure`. A negative (or 0)
/// PERCENT never fails. Other plugins may change the rate for the connection through the note
/// `random_fail_%`, which connect sets.
public struct RandomError: SMTPPlugin {
    static let rate = NoteKey<Double>("random_fail_%")
    private let percent: Double

    public init(context: PluginContext) throws {
        let words = context.arguments.words
        guard words.count <= 1 else {
            throw PluginArgumentError("random_error takes one percentage, not '\(words.joined(separator: " "))'")
        }
        if let word = words.first {
            guard let value = Double(word), value.isFinite else {
                throw PluginArgumentError("the failure rate must be a percentage, not '\(word)'")
            }
            percent = value
        } else {
            percent = 1
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            context.connection[note: Self.rate] = percent
            return Self.maybeFail(context)
        }
        hooks.onHelo { context, _, _ in Self.maybeFail(context) }
        hooks.onEhlo { context, _, _ in Self.maybeFail(context) }
        hooks.onMail { context, _, _, _ in Self.maybeFail(context) }
        hooks.onRcpt { context, _, _, _ in Self.maybeFail(context) }
        hooks.onData { context, _ in Self.maybeFail(context) }
        hooks.onDataPost { context, _ in Self.maybeFail(context) }
    }

    static func maybeFail(_ context: HookContext) -> HookResult {
        let percent = context.connection[note: rate] ?? 0
        guard Double.random(in: 0..<100) < percent / 6 else { return .declined }
        context.logger.info("fail, random failure at \(context.hook.rawValue)")
        return Int.random(in: 0..<5) < 2 ? .denySoftDisconnect("random failure") : .denySoft("random failure")
    }
}
