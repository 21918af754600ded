import Logging
public import SMTPPluginAPI

/// `badmailfrom` (also `check_badmailfrom`): refuses senders listed in `badmailfrom` at MAIL, as
/// qpsmtpd 1.00 does (the old check_badmailfrom only noted the sender and refused every RCPT).
/// Lines are a whole address, `@host`, or a pattern (see `AddressEntryList`), each with an
/// optional reason; the default is `Your envelope sender is in my badmailfrom list`. Patterns
/// are matched, case-sensitively as in qpsmtpd, against the lower-cased `user@host`. The null
/// sender, a sender without user or host, and immune clients (relay, `whitelisthost`,
/// `whitelistsender`) are never refused. `reject 0|1|naughty` (default 1), `reject_type`
/// (default perm: `550 5.7.1`). A match costs one karma.
public struct BadMailFrom: SMTPPlugin {
    let list: AddressEntryList
    let defaultReason: String
    let fileName: String

    public init(context: PluginContext) throws {
        try self.init(context: context, file: "badmailfrom", allPatterns: false, defaultReason: "Your envelope sender is in my badmailfrom list")
    }

    init(context: PluginContext, file: String, allPatterns: Bool, defaultReason: String) throws {
        _ = try KeyValueArguments(context.arguments, plugin: context.instanceName, known: [])
        fileName = file
        self.defaultReason = defaultReason
        list = try AddressEntryList(context.config.entries(file), allPatterns: allPatterns, patternsIgnoreCase: false, logger: context.logger)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, _, sender, _ in check(context, sender) }
    }

    func check(_ context: HookContext, _ sender: ReversePath) -> HookResult {
        if context.isImmune {
            context.logger.debug("skip, immune")
            return .declined
        }
        guard !list.isEmpty else {
            context.logger.debug("skip, empty list")
            return .declined
        }
        guard let mailbox = sender.mailbox else {
            context.logger.debug("skip, null sender")
            return .declined
        }
        guard !mailbox.localPart.isEmpty, !mailbox.domain.isEmpty else {
            context.logger.debug("skip, missing user or host")
            return .declined
        }
        let host = mailbox.domain.lowercased()
        let address = mailbox.localPart.lowercased() + "@" + host
        guard let line = list.firstMatch(address: address, host: host) else {
            context.logger.info("pass")
            return .declined
        }
        context.adjustKarma(by: -1)
        return context.reject(line.reason ?? defaultReason, log: "\(address) matches \(fileName) entry \(line.entry.text)")
    }
}

/// `check_badmailfrom_patterns`: the old plugin's own file, `badmailfrom_patterns`, where every
/// line is a pattern with an optional reason (default `Your envelope sender is in my
/// badmailfrom_patterns list`). Otherwise as `badmailfrom` (refused at MAIL).
public struct BadMailFromPatterns: SMTPPlugin {
    let plugin: BadMailFrom

    public init(context: PluginContext) throws {
        plugin = try BadMailFrom(
            context: context, file: "badmailfrom_patterns", allPatterns: true,
            defaultReason: "Your envelope sender is in my badmailfrom_patterns list")
    }

    public func register(into hooks: inout HookRegistry) { plugin.register(into: &hooks) }
}
