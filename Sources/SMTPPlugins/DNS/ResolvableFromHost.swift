import Logging
import SMTPCore
public import SMTPPluginAPI

/// `resolvable_fromhost`: at MAIL, the sender's domain must be able to receive a reply — an MX
/// whose host has a usable address, or, without MX records, a usable A/AAAA address. Addresses
/// inside the networks of `invalid_resolvable_fromhost` (CIDR, prefix or address a line; when
/// the file is missing, this-network, loopback, link-local, multicast and reserved space) are not
/// usable, and neither is a null MX (RFC 7505). A domain that fails is refused with
/// `FQDN required in the envelope sender` (default `reject 1`, `reject_type temp`: 450 4.1.8);
/// when DNS fails the answer is `Temporary address resolution failure` (450 4.4.3), or with
/// `dns_failure tolerate` the sender passes. The transaction note `resolvable_fromhost` says
/// what was found (`mx`, `a`, `ip`, `null`, `whitelist`, or why it failed) and
/// `resolvable_fromhost_host` the domain. Skipped for immune clients and the null sender.
public struct ResolvableFromHost: SMTPPlugin {
    static let result = NoteKey<String>("resolvable_fromhost")
    static let host = NoteKey<String>("resolvable_fromhost_host")

    /// Used when `invalid_resolvable_fromhost` does not exist: addresses no mail can come back to.
    static let defaultInvalidNetworks = [
        "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fe80::/10", "ff00::/8",
    ]

    private let invalid: IPMatcher
    private let arguments: DNSPluginArguments

    public init(context: PluginContext) throws {
        arguments = try DNSPluginArguments(context.arguments, plugin: context.instanceName, defaultReject: .yes, defaultType: .temp, defaultDNSFailure: .defer_)
        let lines = context.config.lines("invalid_resolvable_fromhost")
        // A file that exists but lists nothing is a site saying "no address is invalid".
        let configured = !context.config.entries("invalid_resolvable_fromhost").isEmpty
        invalid = IPMatcher(entries: configured ? lines : Self.defaultInvalidNetworks)
        for entry in invalid.invalidEntries {
            context.logger.warning("invalid_resolvable_fromhost: ignoring '\(entry)': not an address, prefix or CIDR block")
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, transaction, sender, _ in await mail(context, transaction, sender) }
    }

    /// What the lookups showed about a sender domain.
    enum Verdict: Equatable {
        /// `how`: `mx`, `a` or `ip`.
        case resolvable(how: String, detail: String)
        /// An answer, and not a usable one; `why` goes to the transaction note.
        case unresolvable(why: String)
        /// DNS did not answer.
        case dnsFailed(why: String)
    }

    private func mail(_ context: HookContext, _ transaction: Transaction, _ sender: ReversePath) async -> HookResult {
        if context.isImmune {
            transaction[note: Self.result] = "whitelist"
            context.logger.info("skip, immune client")
            return .declined
        }
        guard let mailbox = sender.mailbox else {
            transaction[note: Self.result] = "null"
            context.logger.info("pass, null sender")
            return .declined
        }
        let domain = mailbox.domain.lowercased()
        transaction[note: Self.host] = domain
        switch await verdict(domain, dns: context.services.dns, deadline: context.deadline) {
        case .resolvable(let how, let detail):
            transaction[note: Self.result] = how
            context.logger.info("pass, \(detail)")
            return .declined
        case .unresolvable(let why):
            transaction[note: Self.result] = why
            context.adjustKarma(by: -1)
            return arguments.refuse(context, "5.1.8 FQDN required in the envelope sender", log: why)
        case .dnsFailed(let why):
            transaction[note: Self.result] = why
            return arguments.dnsFailed(context, "4.4.3 Temporary address resolution failure", log: why)
        }
    }

    func verdict(_ domain: String, dns: any DNSResolver, deadline: ContinuousClock.Instant) async -> Verdict {
        if domain.isEmpty { return .unresolvable(why: "no domain in the sender") }
        if domain.hasPrefix("[") {
            return .resolvable(how: "ip", detail: "\(domain) is an address literal")
        }
        var mxFailure: String?
        do {
            let exchanges = try await dns.mx(of: domain, deadline: deadline)
            if !exchanges.isEmpty { return await verdict(domain, exchanges: exchanges, dns: dns, deadline: deadline) }
        } catch DNSError.nxdomain {
            return .unresolvable(why: "\(domain) does not exist")
        } catch let error where DNSFailurePolicy.isFailure(error) {
            // The A/AAAA records may still answer for the domain.
            mxFailure = "MX lookup for \(domain) failed: \(error)"
        } catch {
            // No MX records: the domain's own addresses receive its mail (RFC 5321 §5.1).
        }
        do {
            let addresses = try await dns.addresses(of: domain, deadline: deadline)
            if let usable = addresses.first(where: { !invalid.matches($0) }) {
                return .resolvable(how: "a", detail: "\(domain) has address \(usable)")
            }
            return .unresolvable(why: "\(domain) has only invalid addresses: \(addresses.joined(separator: ", "))")
        } catch let error where DNSFailurePolicy.isFailure(error) {
            return .dnsFailed(why: "address lookup for \(domain) failed: \(error)")
        } catch {
            if let mxFailure { return .dnsFailed(why: mxFailure) }
            return .unresolvable(why: "\(domain) has no MX and no address")
        }
    }

    /// Whether any MX host is usable: asked at once; a usable one ends the search.
    private func verdict(
        _ domain: String, exchanges: [(preference: Int, exchange: String)], dns: any DNSResolver, deadline: ContinuousClock.Instant
    ) async -> Verdict {
        // RFC 7505: a single MX of preference 0 and host "." (kept as "") says no mail at all.
        if exchanges.count == 1, exchanges[0].preference == 0, exchanges[0].exchange.isEmpty {
            return .unresolvable(why: "null MX for \(domain)")
        }
        let hosts = exchanges.map(\.exchange).filter { !$0.isEmpty }
        let invalid = invalid
        return await withTaskGroup(of: MXHost.self) { group in
            for host in hosts {
                group.addTask { await Self.check(host, invalid: invalid, dns: dns, deadline: deadline) }
            }
            var failures: [String] = []
            for await outcome in group {
                switch outcome {
                case .usable(let address):
                    group.cancelAll()
                    return .resolvable(how: "mx", detail: "\(domain) has MX at \(address)")
                case .failed(let why):
                    failures.append(why)
                case .unusable:
                    continue
                }
            }
            if !failures.isEmpty { return .dnsFailed(why: "no usable MX for \(domain); " + failures.joined(separator: "; ")) }
            return .unresolvable(why: "invalid MX for \(domain)")
        }
    }

    private enum MXHost: Sendable {
        case usable(String)
        case unusable
        case failed(String)
    }

    private static func check(_ host: String, invalid: IPMatcher, dns: any DNSResolver, deadline: ContinuousClock.Instant) async -> MXHost {
        // Some domains put an address where the host name belongs; qpsmtpd takes it as one.
        if IPAddress(host) != nil { return invalid.matches(host) ? .unusable : .usable(host) }
        do {
            let addresses = try await dns.addresses(of: host, deadline: deadline)
            return addresses.first { !invalid.matches($0) }.map { MXHost.usable("\(host) (\($0))") } ?? MXHost.unusable
        } catch let error where DNSFailurePolicy.isFailure(error) {
            return .failed("\(host): \(error)")
        } catch {
            return .unusable
        }
    }
}
