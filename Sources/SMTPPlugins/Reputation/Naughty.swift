import SMTPCore
public import SMTPPluginAPI

/// `naughty` (qpsmtpd's plugins/naughty): carries out the refusals other plugins deferred with
/// `reject naughty` (they set the connection notes `naughty`, the text, and
/// `naughty_reject_type`). It refuses at the phase `reject` names — connect, mail, rcpt (the
/// default), data or data_post — and always at data_post too, in case a plugin earlier at the
/// chosen phase answered OK and it was never asked. The type is the note's, else this line's
/// `reject_type`, else `disconnect`.
public struct Naughty: SMTPPlugin {
    enum Phase: String, CaseIterable, Sendable {
        case connect, mail, rcpt, data
        case dataPost = "data_post"
    }

    let phase: Phase
    let fallbackType: PluginArguments.RejectType

    public init(context: PluginContext) throws {
        let arguments = context.arguments
        let words = arguments.words
        guard words.count % 2 == 0 else {
            throw PluginArgumentError("naughty takes 'key value' pairs; '\(words.last ?? "")' has no value")
        }
        for index in stride(from: 0, to: words.count, by: 2) where !["reject", "reject_type", "loglevel", "timeout"].contains(words[index]) {
            throw PluginArgumentError("naughty has no argument '\(words[index])' (it takes reject, reject_type, loglevel)")
        }
        let word = arguments["reject"]?.lowercased() ?? "rcpt"
        // qpsmtpd's name for data_post's sibling; the queue_post phase is too late to refuse.
        guard let phase = Phase(rawValue: word) else {
            let all = Phase.allCases.map(\.rawValue).joined(separator: ", ")
            throw PluginArgumentError("naughty: reject must name a phase (\(all)), not '\(word)'")
        }
        self.phase = phase
        fallbackType = try arguments.rejectType(default: .disconnect)
    }

    public func register(into hooks: inout HookRegistry) {
        switch phase {
        case .connect: hooks.onConnect { context in refuse(context) }
        case .mail: hooks.onMail { context, _, _, _ in refuse(context) }
        case .rcpt: hooks.onRcpt { context, _, _, _ in refuse(context) }
        case .data: hooks.onData { context, _ in refuse(context) }
        case .dataPost: break
        }
        hooks.onDataPost { context, _ in refuse(context) }
    }

    func refuse(_ context: HookContext) -> HookResult {
        guard let message = context.connection[note: .naughty] else {
            context.logger.debug("pass")
            return .declined
        }
        let noted = context.connection[note: .naughtyRejectType].flatMap { try? PluginArguments(["reject_type", $0]).rejectType(default: fallbackType) }
        let type = noted ?? fallbackType
        context.logger.info("fail, \(type == .disconnect || type == .tempDisconnect ? "disconnecting" : "refusing"): \(message)")
        return type.result(message)
    }
}
