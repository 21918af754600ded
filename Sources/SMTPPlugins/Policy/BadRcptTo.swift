import Logging
public import SMTPPluginAPI

/// `badrcptto` (also `check_badrcptto`): refuses recipients listed in `badrcptto` — a whole
/// address, `@host`, or a pattern matched without case (see `AddressEntryList`), each with an
/// optional reason. Without one the reply is `550 5.1.1 mail to <entry> not accepted here`
/// (qpsmtpd's `mail to <entry> not accepted here (#5.1.1)`, its code moved to where enhanced
/// codes go). Immune clients and recipients without user or host are skipped; a match costs two
/// karma. `reject 0|1|naughty` (default 1) and `reject_type` (default perm) apply.
/// qpsmtpd lower-cases a pattern before matching it, which turns `\S` into `\s`; we match the
/// pattern as written, ignoring case.
public struct BadRcptTo: SMTPPlugin {
    let list: AddressEntryList
    let fileName: String

    public init(context: PluginContext) throws {
        try self.init(context: context, file: "badrcptto", allPatterns: false)
    }

    init(context: PluginContext, file: String, allPatterns: Bool) throws {
        _ = try KeyValueArguments(context.arguments, plugin: context.instanceName, known: [])
        fileName = file
        list = try AddressEntryList(context.config.entries(file), allPatterns: allPatterns, patternsIgnoreCase: true, logger: context.logger)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onRcpt { context, _, recipient, _ in check(context, recipient) }
    }

    func check(_ context: HookContext, _ recipient: Mailbox) -> HookResult {
        if context.isImmune {
            context.logger.debug("skip, immune")
            return .declined
        }
        guard !recipient.localPart.isEmpty, !recipient.domain.isEmpty else {
            context.logger.info("skip, missing host or user")
            return .declined
        }
        guard !list.isEmpty else {
            context.logger.info("skip, empty config")
            return .declined
        }
        let host = recipient.domain.lowercased()
        let address = recipient.localPart.lowercased() + "@" + host
        guard let line = list.firstMatch(address: address, host: host) else {
            context.logger.info("pass")
            return .declined
        }
        context.adjustKarma(by: -2)
        let message = line.reason ?? "5.1.1 mail to \(line.entry.text) not accepted here"
        return context.reject(message, log: "\(address) matches \(fileName) entry \(line.entry.text)")
    }
}

/// `check_badrcptto_patterns`: the old plugin's own file, `badrcptto_patterns`, where every line
/// is a pattern with an optional reason. Otherwise as `badrcptto`.
public struct BadRcptToPatterns: SMTPPlugin {
    let plugin: BadRcptTo

    public init(context: PluginContext) throws {
        plugin = try BadRcptTo(context: context, file: "badrcptto_patterns", allPatterns: true)
    }

    public func register(into hooks: inout HookRegistry) { plugin.register(into: &hooks) }
}
