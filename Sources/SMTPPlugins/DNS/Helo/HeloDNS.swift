import Logging
import SMTPPluginAPI

/// The DNS side of helo's `rfc` and `strict` policies: the HELO name's A and AAAA records and the
/// client's PTR names, asked for together, and what qpsmtpd concludes from them.
struct HeloDNS: Sendable {
    enum Forward: Sendable, Equatable {
        /// An address literal: nothing to look up.
        case literal
        case addresses([IPAddress])
        case nxdomain
        case noAddresses
        case failed(String)
    }

    enum Reverse: Sendable, Equatable {
        case names([String])
        case nxdomain
        case noData
        case failed(String)
    }

    struct Answers: Sendable {
        var forward: Forward
        var reverse: Reverse
        /// One of the name's addresses is the client's, or in its network (qpsmtpd's `helo_forward_match`).
        var forwardMatch: Bool
        /// A PTR name is the HELO name or shares its last two labels (qpsmtpd's `helo_reverse_match`).
        var reverseMatch: Bool
    }

    let host: String
    let clientText: String
    let client: IPAddress?

    func lookUp(_ dns: any DNSResolver, deadline: ContinuousClock.Instant) async -> Answers {
        let name = HostName.normalized(host)
        let isLiteral = AddressLiteral.isLiteral(host)
        let clientText = client?.reverseLookupText(given: clientText) ?? clientText
        async let a = Self.outcome(unless: isLiteral) { try await dns.lookup(name, .a, deadline: deadline) }
        async let aaaa = Self.outcome(unless: isLiteral) { try await dns.lookup(name, .aaaa, deadline: deadline) }
        async let ptr = Self.outcome(unless: false) { try await dns.ptr(of: clientText, deadline: deadline).map { .ptr($0) } }

        let forwardAnswers = (await a, await aaaa)
        let forward: Forward
        if let a = forwardAnswers.0, let aaaa = forwardAnswers.1 { forward = Self.combine(a, aaaa) } else { forward = .literal }
        let reverse: Reverse
        switch await ptr ?? .failure(.other("not asked")) {
        case .success(let records):
            reverse = .names(records.compactMap { record -> String? in
                if case .ptr(let name) = record { return HostName.normalized(name) }
                return nil
            })
        case .failure(.nxdomain): reverse = .nxdomain
        case .failure(.noData): reverse = .noData
        case .failure(.other(let why)): reverse = .failed(why)
        }

        var forwardMatch = false
        if case .addresses(let addresses) = forward, let client {
            forwardMatch = addresses.contains { $0.isSameHost(as: client) || $0.isSameNetwork(as: client, includingIPv6: true) }
        }
        var reverseMatch = false
        if case .names(let names) = reverse {
            let helo = name
            reverseMatch = names.contains { ptr in
                guard let domain = HostName.lastTwoLabels(ptr) else { return false }
                return ptr == helo || domain == HostName.lastTwoLabels(helo)
            }
        }
        return Answers(forward: forward, reverse: reverse, forwardMatch: forwardMatch, reverseMatch: reverseMatch)
    }

    private enum LookupError: Error { case nxdomain, noData, other(String) }

    /// The lookup's answer as a value; nil when `skip` says there is nothing to ask.
    private static func outcome(unless skip: Bool, _ lookup: () async throws -> [DNSRecord]) async -> Result<[DNSRecord], LookupError>? {
        if skip { return nil }
        do {
            return .success(try await lookup())
        } catch DNSError.nxdomain {
            return .failure(.nxdomain)
        } catch DNSError.noData {
            return .failure(.noData)
        } catch {
            return .failure(.other("\(error)"))
        }
    }

    /// One answer for the name from its A and AAAA answers: any address wins, then NXDOMAIN (the
    /// name does not exist), then a failure (we cannot tell), then "no addresses".
    private static func combine(_ a: Result<[DNSRecord], LookupError>, _ aaaa: Result<[DNSRecord], LookupError>) -> Forward {
        var addresses: [IPAddress] = []
        for case .success(let records) in [a, aaaa] {
            for record in records {
                switch record {
                case .a(let ip), .aaaa(let ip): if let address = IPAddress(ip) { addresses.append(address) }
                default: break
                }
            }
        }
        if !addresses.isEmpty { return .addresses(addresses) }
        var failure: String?
        for case .failure(let error) in [a, aaaa] {
            switch error {
            case .nxdomain: return .nxdomain
            case .other(let why): failure = why
            case .noData: break
            }
        }
        if let failure { return .failed(failure) }
        return .noAddresses
    }
}

extension HeloDNS.Answers {
    /// qpsmtpd's `no_forward_dns`, then `no_reverse_dns`. `dnsFailure` nil is qpsmtpd's own
    /// choice, a failed forward lookup skipped and a failed reverse lookup refused, except that
    /// the refusal is temporary: qpsmtpd answers 550 there, which bounces a sender's mail for a
    /// fault of our resolver's.
    func failure(host: String, clientText: String, dnsFailure: DNSFailurePolicy?, logger: Logger) -> Helo.Failure? {
        switch forward {
        case .literal, .addresses: break
        case .nxdomain: return Helo.Failure(message: "HELO hostname does not exist", log: "no such host")
        case .noAddresses: return Helo.Failure(message: "HELO hostname did not resolve", log: "no forward DNS")
        case .failed(let why):
            if dnsFailure == .defer_ {
                return Helo.Failure(message: "4.4.3 Cannot look up HELO hostname \(host) now; try again later", log: "forward DNS: \(why)", temporary: true)
            }
            logger.error("skip, query failed (\(why))")
        }
        switch reverse {
        case .names(let names) where !names.isEmpty: return nil
        case .names, .noData: return Helo.Failure(message: "no reverse DNS for \(clientText)", log: "no rDNS")
        case .nxdomain: return Helo.Failure(message: "no rDNS for \(clientText)", log: "no rDNS")
        case .failed(let why):
            switch dnsFailure {
            case nil, .defer_?: return Helo.Failure(message: "error getting reverse DNS for \(clientText)", log: "rDNS \(why)", temporary: true)
            case .tolerate?:
                logger.info("skip, reverse query failed (\(why))")
                return nil
            }
        }
    }
}
