public import SMTPPluginAPI

/// `bogus_bounce [log|deny|denysoft]` (also `check_bogus_bounce`): a bounce (null sender) must
/// have exactly one recipient (`fail, this bounce message does not have 1 recipient`) and no
/// Return-Path header other than `<>` (`a bounce return path must be empty (RFC 3834)`); checked
/// at data_post. The word chooses the answer: `log` (the default: `reject 0`), `deny` (554) or
/// `denysoft` (451); `reject` and `reject_type` may say the same. qpsmtpd 1.00 ignores `deny`
/// there (its default `reject 0` wins, so only `denysoft`'s type survives); the word works here,
/// as it did in the old check_bogus_bounce.
public struct BogusBounce: SMTPPlugin {
    let defaultReject: PluginArguments.Reject
    let defaultType: PluginArguments.RejectType

    public init(context: PluginContext) throws {
        var words = context.arguments.words[...]
        var action = "log"
        if words.count % 2 == 1 {
            action = words.removeFirst().lowercased()
        }
        _ = try KeyValueArguments(PluginArguments(Array(words)), plugin: "bogus_bounce", known: [])
        guard ["log", "deny", "denysoft"].contains(action) else {
            throw PluginArgumentError("the action must be log, deny or denysoft, not '\(action)'")
        }
        defaultReject = action == "log" ? .no : .yes
        defaultType = action == "denysoft" ? .temp : .perm
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in check(context, transaction) }
    }

    func check(_ context: HookContext, _ transaction: Transaction) -> HookResult {
        if let sender = transaction.sender, sender.mailbox != nil {
            context.logger.info("pass, not a null sender")
            return .declined
        }
        let recipients = transaction.recipients
        if recipients.count != 1 {
            let log = "bogus bounce to: " + recipients.map(\.address).joined(separator: ",")
            return context.reject(
                "fail, this bounce message does not have 1 recipient", log: log, defaultReject: defaultReject, defaultType: defaultType)
        }
        if let returnPath = transaction.header.value(of: "Return-Path")?.trimmingSpacesAndTabs(), !returnPath.isEmpty, returnPath != "<>" {
            return context.reject(
                "a bounce return path must be empty (RFC 3834)", log: "bounce messages must not have a Return-Path",
                defaultReject: defaultReject, defaultType: defaultType)
        }
        context.logger.info("pass, single recipient, empty Return-Path")
        return .declined
    }
}
