import SMTPPluginAPI

/// Refuses mail whose envelope sender's local part starts with "noreply"
/// (`noreply@`, `no-reply@` and `noreply-alerts@` alike), on the grounds that a
/// sender who will not read replies should not expect us to read its mail.
///
/// In `config/plugins`:
///
///     site/reject_noreply                 # refuse with 550 5.7.1
///     site/reject_noreply reject_type temp  # or defer with 450 4.7.1 while you watch the logs
public struct RejectNoReplySenders: SMTPPlugin {
    let rejectType: PluginArguments.RejectType
    let prefixes = ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"]

    public init(context: PluginContext) throws {
        rejectType = try context.arguments.rejectType(default: .perm)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { [rejectType, prefixes] _, _, sender, _ in
            // The null sender `<>` (bounces) has no mailbox and is always welcome.
            guard let mailbox = sender.mailbox else { return .declined }
            let local = mailbox.localPart.lowercased()
            guard prefixes.contains(where: { local.hasPrefix($0) }) else { return .declined }
            let code = rejectType == .temp || rejectType == .tempDisconnect ? "4.7.1" : "5.7.1"
            return rejectType.result("\(code) \(mailbox.address) does not accept replies, so we do not accept its mail")
        }
    }
}
