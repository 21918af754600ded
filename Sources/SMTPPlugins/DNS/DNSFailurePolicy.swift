public import SMTPPluginAPI

/// What a DNS plugin does when its lookups fail (timeout, server failure) rather than answer:
/// the `dns_failure tolerate|defer` argument every DNS plugin takes. qpsmtpd hard-codes the
/// choice per plugin (dnsbl and fcrdns let the mail through, resolvable_fromhost answers 450);
/// the plugin keeps that as its default and a site may choose the other.
public enum DNSFailurePolicy: String, Sendable, Hashable {
    /// Log `fail, tolerated` and go on as if the check passed.
    case tolerate
    /// Answer 4xx so the client retries later, when DNS may work again.
    case defer_ = "defer"

    public init(_ arguments: PluginArguments, default fallback: DNSFailurePolicy) throws {
        guard let raw = arguments["dns_failure"] else {
            self = fallback
            return
        }
        guard let value = DNSFailurePolicy(rawValue: raw.lowercased()) else {
            throw PluginArgumentError("dns_failure must be tolerate or defer, not '\(raw)'")
        }
        self = value
    }

    /// Whether `error` says nothing about the name (the server did not answer usefully), as
    /// opposed to NXDOMAIN or no data, which are answers.
    public static func isFailure(_ error: any Error) -> Bool {
        switch error as? DNSError {
        case .nxdomain?, .noData?: return false
        default: return true
        }
    }
}
