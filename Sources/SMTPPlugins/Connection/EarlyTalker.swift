import Logging
public import SMTPPluginAPI

/// `earlytalker [wait S] [reject 0|1|naughty] [reject_type T] [defer-reject 0|1]
/// [check-at CONNECT|DATA]… [action log|deny|denysoft]` (also `check_earlytalker`,
/// `async/earlytalker`): holds the greeting back up to `wait` seconds (default 1) and refuses a
/// client that talks before it — `Connecting host started transmitting before SMTP greeting` —
/// answering at once when it does. `check-at DATA` (repeatable with CONNECT) also waits before
/// the 354 and refuses a client that sends its message without waiting for it. `defer-reject 1`
/// greets an early talker as usual, notes `earlytalker` (karma −1) and refuses its MAIL instead.
/// Relay and whitelisted clients are not checked.
///
/// The legacy `action` sets the defaults: `log` only logs, `deny` refuses permanently,
/// `denysoft` temporarily. Without it qpsmtpd's code (not its POD) refuses permanently — 554 and
/// close at connect — except that `defer-reject` without a `reject_type` refuses temporarily,
/// as qpsmtpd in fact does.
public struct EarlyTalker: SMTPPlugin {
    static let noted = NoteKey<Bool>("earlytalker")
    static let message = "Connecting host started transmitting before SMTP greeting"

    private let wait: Duration
    private let checkAtConnect: Bool
    private let checkAtData: Bool
    private let deferReject: Bool
    private let defaultReject: PluginArguments.Reject
    private let defaultType: PluginArguments.RejectType

    public init(context: PluginContext) throws {
        let arguments = try KeyValueArguments(context.arguments, plugin: "earlytalker", known: ["wait", "defer-reject", "check-at", "action"])
        if let text = arguments["wait"] {
            guard let seconds = Double(text), seconds >= 0, seconds <= 300 else {
                throw PluginArgumentError("wait must be a number of seconds from 0 to 300, not '\(text)'")
            }
            wait = .milliseconds(Int64(seconds * 1000))
        } else {
            wait = .seconds(1)
        }
        var connect = false
        var data = false
        let words = context.arguments.words
        for index in stride(from: 0, to: words.count, by: 2) where words[index].lowercased() == "check-at" {
            switch words[index + 1].uppercased() {
            case "CONNECT": connect = true
            case "DATA": data = true
            default: throw PluginArgumentError("check-at must be CONNECT or DATA, not '\(words[index + 1])'")
            }
        }
        checkAtConnect = connect || !data
        checkAtData = data
        deferReject = try arguments.flag("defer-reject", default: false)
        var reject = PluginArguments.Reject.yes
        var type = PluginArguments.RejectType.perm
        if let action = arguments["action"]?.lowercased() {
            switch action {
            case "log": reject = .no
            case "deny": type = .perm
            case "denysoft": type = .temp
            default: throw PluginArgumentError("action must be log, deny or denysoft, not '\(action)'")
            }
        } else if arguments["defer-reject"] != nil {
            type = .temp
        }
        defaultReject = reject
        defaultType = type
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            guard checkAtConnect, !context.isImmune else { return .declined }
            guard await spokeEarly(context) else { return pass(context) }
            guard !deferReject else {
                context.logger.info("fail, deferred: \(context.connection.remoteIP) started talking before we said hello")
                context.connection[note: Self.noted] = true
                context.adjustKarma(by: -1)
                return .declined
            }
            return refuse(context)
        }
        hooks.onData { context, _ in
            guard checkAtData, !context.isImmune else { return .declined }
            return await spokeEarly(context) ? refuse(context) : pass(context)
        }
        if deferReject {
            hooks.onMail { context, _, _, _ in
                context.connection[note: Self.noted] == true ? refuse(context) : .declined
            }
        }
    }

    /// Waits `wait` (never past the hook's deadline) for the client to send out of turn.
    private func spokeEarly(_ context: HookContext) async -> Bool {
        let limit = min(wait, context.timeRemaining - HookContext.answerMargin)
        return await context.connection.outOfTurnInput.wait(upTo: max(limit, .zero))
    }

    private func pass(_ context: HookContext) -> HookResult {
        context.logger.info("pass, \(context.connection.remoteIP) said nothing spontaneous")
        return .declined
    }

    private func refuse(_ context: HookContext) -> HookResult {
        context.connection[note: Self.noted] = true
        return context.reject(
            Self.message, log: "\(context.connection.remoteIP) started talking before we said hello",
            defaultReject: defaultReject, defaultType: defaultType)
    }
}
