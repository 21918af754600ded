import Logging
import SMTPCore
public import SMTPPluginAPI

/// `rhsbl`: the envelope sender's domain against the domain blocklists in `rhsbl_zones` (`zone`,
/// or `zone text` for lists without TXT records), every zone asked at once at MAIL. A listed
/// domain is refused there: `Mail from <domain> rejected because it <text>`, the text being the
/// zone's or the TXT record's (qpsmtpd 1.00 checks the sender's domain only; its HELO check is
/// commented out). Default `reject 1`, `reject_type perm`; the legacy single word `disconnect`
/// means `reject_type disconnect`. Skipped for immune clients, the null sender and address
/// literals. Lookups that fail are tolerated unless `dns_failure defer`.
public struct RHSBL: SMTPPlugin {
    private let zones: [DNSListZone]
    private let arguments: DNSPluginArguments

    public init(context: PluginContext) throws {
        arguments = try DNSPluginArguments(
            context.arguments, plugin: context.instanceName, legacyRejectType: true, defaultReject: .yes, defaultType: .perm, defaultDNSFailure: .tolerate)
        zones = DNSListZone.parse(context.config.lines("rhsbl_zones"), colon: false)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, _, sender, _ in await mail(context, sender) }
    }

    private func mail(_ context: HookContext, _ sender: ReversePath) async -> HookResult {
        if context.isImmune {
            context.logger.info("skip, immune client")
            return .declined
        }
        guard let domain = sender.mailbox?.domain.lowercased() else {
            context.logger.info("skip, null sender")
            return .declined
        }
        guard !domain.isEmpty, !domain.hasPrefix("[") else {
            context.logger.info("skip, no domain name in \(sender.formatted)")
            return .declined
        }
        guard !zones.isEmpty else {
            context.logger.debug("skip, no zones in rhsbl_zones")
            return .declined
        }
        let findings = await DNSList.check(domain, in: zones, dns: context.services.dns, deadline: context.deadline)
        if let zone = findings.listedBy {
            let reason = findings.reason.isEmpty ? "is listed by \(zone.zone)" : findings.reason
            context.adjustKarma(by: -1)
            return arguments.refuse(context, "Mail from \(domain) rejected because it \(reason)", log: "\(domain).\(zone.zone): \(reason)")
        }
        if !findings.failures.isEmpty {
            return arguments.dnsFailed(
                context, "4.4.3 Could not check \(domain) against DNS blocklists, try again later",
                log: "lookups failed: " + findings.failures.joined(separator: "; "))
        }
        context.logger.info("pass")
        return .declined
    }
}
