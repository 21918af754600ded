import SMTPPluginAPI

/// `site/badmailfrom`: refuses envelope senders listed in config `badmailfrom`, one a line: an
/// address (`spam@example.com`) or a whole domain (`@example.net`). The null sender and immune
/// clients (relay clients, whitelisted hosts) pass; `reject 0|1|naughty` and `reject_type` work
/// as for every plugin.
public struct BadMailFrom: SMTPPlugin {
    let addresses: Set<String>
    let domains: Set<String>

    public init(context: PluginContext) throws {
        let lines = context.config.lines("badmailfrom").map { $0.lowercased() }
        addresses = Set(lines.filter { !$0.hasPrefix("@") })
        domains = Set(lines.filter { $0.hasPrefix("@") }.map { String($0.dropFirst()) })
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, _, sender, _ in
            guard let mailbox = sender.mailbox, !context.isImmune else { return .declined }
            let listed = addresses.contains(mailbox.address.lowercased()) || domains.contains(mailbox.domain.lowercased())
            return listed ? context.reject("Your envelope sender is in my badmailfrom list") : .declined
        }
    }
}
