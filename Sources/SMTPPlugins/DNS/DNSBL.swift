#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPCore
public import SMTPPluginAPI

/// `dnsbl`: the client's address against the IP blocklists in `dnsbl_zones` (`zone`, or
/// `zone:text` for lists without TXT records, `%IP%` in the text becoming the address), every
/// zone asked at once as the connection opens.
///
/// Like qpsmtpd 1.00 it decides at connect: with `reject 1` (the default) it waits there for the
/// answers and refuses a listed client before the greeting (`reject_type perm`: 554 and close);
/// `reject naughty` leaves the refusal to `naughty`; `reject 0` does not hold up the greeting and
/// only logs when the answers come. Skipped for immune clients (relay clients, `whitelisthost`),
/// addresses in `dnsbl_allow`, and when `RBLSMTPD` is set. A non-empty `RBLSMTPD` is itself the
/// refusal, given at RCPT (rblsmtpd's semantics). Recipients postmaster, abuse, mailer-daemon and
/// root are never refused at RCPT, and clear a `naughty` refusal this plugin deferred.
/// Lookups that fail are tolerated unless `dns_failure defer`.
public struct DNSBL: SMTPPlugin {
    static let lookups = ConnectionLookup<DNSListFindings>("dnsbl_lookups")
    /// What this plugin found, as qpsmtpd's connection note `dnsbl`: the refusal text.
    static let finding = NoteKey<String>("dnsbl")
    static let specialRecipients: Set<String> = ["postmaster", "abuse", "mailer-daemon", "root"]

    private let zones: [DNSListZone]
    private let allow: IPMatcher
    private let rejectMessage: [String]
    private let arguments: DNSPluginArguments
    private let environment: @Sendable (String) -> String?

    public init(context: PluginContext) throws {
        try self.init(context: context) { name in getenv(name).map { String(cString: $0) } }
    }

    /// `environment` looks up a variable of the connection's environment (tcpserver's, the
    /// process's); tests pass their own.
    init(context: PluginContext, environment: @escaping @Sendable (String) -> String?) throws {
        self.environment = environment
        arguments = try DNSPluginArguments(
            context.arguments, plugin: context.instanceName, legacyRejectType: true, defaultReject: .yes, defaultType: .perm, defaultDNSFailure: .tolerate)
        zones = DNSListZone.parse(context.config.lines("dnsbl_zones"), colon: true)
        allow = IPMatcher(entries: context.config.lines("dnsbl_allow"))
        for entry in allow.invalidEntries {
            context.logger.warning("dnsbl_allow: ignoring '\(entry)': not an address, prefix or CIDR block")
        }
        rejectMessage = context.config.lines("dnsbl_rejectmsg")
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in await connect(context) }
        hooks.onRcpt { context, _, recipient, _ in rcpt(context, recipient) }
        hooks.onDisconnect { context in
            Self.lookups.cancel(on: context.connection)
            return .declined
        }
    }

    private func connect(_ context: HookContext) async -> HookResult {
        let ip = context.connection.remoteIP
        if let rblsmtpd = environment("RBLSMTPD") {
            context.logger.info(rblsmtpd.isEmpty ? "skip, RBLSMTPD set but empty for \(ip)" : "skip, RBLSMTPD=\"\(rblsmtpd)\" for \(ip)")
            return .declined
        }
        if context.isImmune {
            context.logger.info("skip, immune client")
            return .declined
        }
        if allow.matches(ip) {
            context.logger.info("skip, \(ip) is in dnsbl_allow")
            return .declined
        }
        guard !zones.isEmpty else {
            context.logger.debug("skip, no zones in dnsbl_zones")
            return .declined
        }
        guard let labels = DNSList.reversedLabels(of: ip) else {
            context.logger.info("skip, not an IP address: \(ip)")
            return .declined
        }
        let zones = zones
        let deadline = context.deadline
        // With reject 0 nothing waits for the answers: they are logged when they come.
        let logOnly = arguments.reject == .no
        let running = Self.lookups.start(on: context.connection) {
            let findings = await DNSList.check(labels, in: zones, dns: context.services.dns, deadline: deadline)
            if logOnly { _ = await decide(context, findings) }
            return findings
        }
        if logOnly { return .declined }
        guard let findings = await running.result.wait(until: context.lookupDeadline(within: nil)) else {
            return arguments.dnsFailed(context, Self.failureMessage, log: "no answer from the DNS blocklists by the deadline")
        }
        return await decide(context, findings)
    }

    private func decide(_ context: HookContext, _ findings: DNSListFindings) async -> HookResult {
        guard let zone = findings.listedBy else {
            if findings.failures.isEmpty {
                context.logger.info("pass")
                return .declined
            }
            return arguments.dnsFailed(context, Self.failureMessage, log: "lookups failed: " + findings.failures.joined(separator: "; "))
        }
        // A DNS whitelist asked at the same time may still lift the listing (qpsmtpd only looks
        // at RCPT, by when it has refused already).
        await DNSWhitelistSoft.settle(context)
        if context.isImmune {
            context.logger.info("skip, \(zone.zone) lists the client, but it is whitelisted")
            return .declined
        }
        let reason: String
        if let text = zone.text {
            reason = text.replacingAll("%IP%", with: context.connection.remoteIP)
        } else {
            reason = findings.reason.isEmpty ? "Blocked by \(zone.zone)" : findings.reason
        }
        let message = (rejectMessage + [reason]).joined(separator: "\n")
        context.connection[note: Self.finding] = message
        context.adjustKarma(by: -1)
        return arguments.refuse(context, message, log: "\(zone.zone): \(reason)")
    }

    private func rcpt(_ context: HookContext, _ recipient: Mailbox) -> HookResult {
        if Self.specialRecipients.contains(recipient.localPart.lowercased()) {
            context.logger.info("skip, never refuse mail to \(recipient.localPart)")
            // A refusal deferred to `naughty` must not stop mail to the postmaster either.
            if let finding = context.connection[note: Self.finding], context.connection[note: .naughty] == finding {
                context.connection[note: .naughty] = nil
            }
            return .declined
        }
        // rblsmtpd's semantics: a non-empty RBLSMTPD is the refusal text.
        guard let rblsmtpd = environment("RBLSMTPD"), !rblsmtpd.isEmpty else { return .declined }
        if context.isImmune {
            context.logger.info("skip, immune client")
            return .declined
        }
        let text = rblsmtpd.replacingAll("%IP%", with: context.connection.remoteIP)
        return arguments.refuse(context, (rejectMessage.prefix(1) + [text]).joined(separator: " "), log: "RBLSMTPD: \(text)")
    }

    static let failureMessage = "4.4.3 DNS blocklists could not be checked, try again later"
}

extension String {
    /// Every `target` replaced, without Foundation.
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
