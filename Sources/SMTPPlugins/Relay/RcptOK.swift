import Logging
import SMTPCore
public import SMTPPluginAPI

/// `rcpt_ok`: the final recipient decision with qmail's rcpthosts semantics. Relay clients and
/// whitelisted hosts or senders may send anywhere; everyone else only to our own domains
/// (`me`, `rcpthosts`, `morercpthosts`). Never declines, so it belongs last among rcpt plugins.
public struct RcptOK: SMTPPlugin {
    private let logger: Logger
    /// Lowercased exact host names.
    private let hosts: Set<String>
    /// Lowercased `.example.com` entries, matching subdomains only.
    private let suffixes: [String]

    public init(context: PluginContext) throws {
        logger = context.logger
        var hosts: Set<String> = [context.services.hostName.lowercased()]
        if let me = context.config.value("me") { hosts.insert(me.lowercased()) }
        var suffixes: [String] = []
        for entry in context.config.lines("rcpthosts") {
            let host = entry.lowercased()
            if host.hasPrefix(".") { suffixes.append(host) } else { hosts.insert(host) }
        }
        // qpsmtpd reads morercpthosts.cdb (exact keys); we have no CDB reader, so it is a plain list here.
        for entry in context.config.lines("morercpthosts") { hosts.insert(entry.lowercased()) }
        self.hosts = hosts
        self.suffixes = suffixes
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onRcpt { context, _, recipient, _ in
            // Relay clients and whitelisted hosts or senders may send anywhere.
            if context.isImmune { return .ok() }
            return accepts(recipient) ? .ok() : .deny("5.7.1 Relaying denied")
        }
    }

    func accepts(_ recipient: Mailbox) -> Bool {
        // No domain: the bare `postmaster` (or abuse) of RFC 5321, always ours.
        if recipient.domain.isEmpty { return true }
        var host = recipient.domain.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        // An address literal is compared as written; a literal of our own address would have to be
        // listed in rcpthosts to be accepted.
        if hosts.contains(host) { return true }
        if suffixes.contains(where: { host.hasSuffix($0) }) { return true }
        logger.info("fail: \(host) is not in rcpthosts")
        return false
    }
}
