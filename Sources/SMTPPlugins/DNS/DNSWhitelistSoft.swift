import Logging
import SMTPCore
public import SMTPPluginAPI

/// `dns_whitelist_soft`: the client's address against the DNS whitelists in `whitelist_zones`
/// (one zone a line; any text after it is ignored). The TXT lookups start at connect without
/// holding up the greeting; the first RCPT waits for them (at most 4 seconds, or its deadline)
/// and a listed client gets the connection note `whitelisthost`, which every plugin that asks
/// `isImmune` honours. `dnsbl` waits for them too before refusing a client it found listed.
/// Lookups that fail mean "not whitelisted" unless `dns_failure defer`.
public struct DNSWhitelistSoft: SMTPPlugin {
    static let lookups = ConnectionLookup<DNSListFindings>("whitelist_lookups")
    /// qpsmtpd waits this long at RCPT.
    static let longestWait: Duration = .seconds(4)

    private let zones: [DNSListZone]
    private let arguments: DNSPluginArguments

    public init(context: PluginContext) throws {
        arguments = try DNSPluginArguments(context.arguments, plugin: context.instanceName, defaultReject: .yes, defaultType: .temp, defaultDNSFailure: .tolerate)
        // Always TXT, as qpsmtpd asks: the text on a line is only a note to the reader.
        zones = DNSListZone.parse(context.config.lines("whitelist_zones"), colon: false).map { DNSListZone(zone: $0.zone) }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            start(context)
            return .declined
        }
        hooks.onRcpt { context, _, _, _ in await rcpt(context) }
        hooks.onDisconnect { context in
            Self.lookups.cancel(on: context.connection)
            return .declined
        }
    }

    private func start(_ context: HookContext) {
        guard !context.isImmune else {
            context.logger.debug("skip, immune client")
            return
        }
        guard !zones.isEmpty else {
            context.logger.debug("skip, no zones in whitelist_zones")
            return
        }
        guard let labels = DNSList.reversedLabels(of: context.connection.remoteIP) else {
            context.logger.info("skip, not an IP address: \(context.connection.remoteIP)")
            return
        }
        let zones = zones
        Self.lookups.start(on: context.connection) {
            await DNSList.check(labels, in: zones, dns: context.services.dns, deadline: context.deadline)
        }
    }

    private func rcpt(_ context: HookContext) async -> HookResult {
        let outcome = await Self.lookups.result(on: context.connection, until: Self.waitDeadline(context))
        // Decided once per connection: later recipients neither wait nor log again.
        Self.lookups.cancel(on: context.connection)
        switch outcome {
        case .notStarted:
            return .declined
        case .unfinished:
            return arguments.dnsFailed(context, Self.failureMessage, log: "no answer from the DNS whitelists in time")
        case .finished(let findings):
            if let zone = findings.listedBy {
                Self.whitelist(context, zone, findings.reason)
                return .declined
            }
            if !findings.failures.isEmpty {
                return arguments.dnsFailed(context, Self.failureMessage, log: "lookups failed: " + findings.failures.joined(separator: "; "))
            }
            context.logger.info("pass, not whitelisted")
            return .declined
        }
    }

    /// For plugins that refuse at connect (`dnsbl`): waits, as the RCPT hook would, for lookups
    /// this plugin started on the connection, and sets `whitelisthost` if they listed the client.
    /// Failures and lookups still running are left for the RCPT hook to judge.
    static func settle(_ context: HookContext) async {
        guard context.connection[note: .whitelistHost] != true,
            case .finished(let findings) = await lookups.result(on: context.connection, until: waitDeadline(context)),
            let zone = findings.listedBy
        else { return }
        whitelist(context, zone, findings.reason)
    }

    private static func whitelist(_ context: HookContext, _ zone: DNSListZone, _ reason: String) {
        context.connection[note: .whitelistHost] = true
        context.logger.notice("pass, host \(context.connection.remoteIP) is whitelisted by \(zone.zone)\(reason.isEmpty ? "" : ": \(reason)")")
    }

    private static func waitDeadline(_ context: HookContext) -> ContinuousClock.Instant {
        context.lookupDeadline(within: longestWait)
    }

    static let failureMessage = "4.4.3 DNS whitelists could not be checked, try again later"
}
