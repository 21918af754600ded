#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The record types plugins ask for (RFC 1035, RFC 3596).
public enum DNSRecordType: String, Sendable, Hashable, CaseIterable {
    case a = "A", aaaa = "AAAA", mx = "MX", txt = "TXT", ptr = "PTR", cname = "CNAME"
}

/// One answer record. Names are lower-case and carry no trailing dot.
public enum DNSRecord: Sendable, Hashable {
    case a(String)
    case aaaa(String)
    case mx(preference: Int, exchange: String)
    /// The character-strings of one TXT record, joined (SPF and DKIM read them that way, RFC 7208 §3.3).
    case txt(String)
    case ptr(String)
    /// An alias met on the way to the answer.
    case cname(String)
}

/// Why a lookup has no answer. `nxdomain` and `noData` are answers; the others say nothing about the name.
public enum DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    case nxdomain(String)
    case noData(String, DNSRecordType)
    case serverFailure(String)
    case timeout
    /// The daemon was built without a resolver for plugins.
    case notConfigured

    public var description: String {
        switch self {
        case .nxdomain(let name): return "\(name): no such domain"
        case .noData(let name, let type): return "\(name): no \(type.rawValue) records"
        case .serverFailure(let why): return "DNS server failure: \(why)"
        case .timeout: return "DNS lookup timed out"
        case .notConfigured: return "no DNS resolver is configured for plugins"
        }
    }
}

/// DNS lookups for plugins (dnsbl, SPF, fcrdns, MX checks). Every lookup ends by `deadline`.
public protocol DNSResolver: Sendable {
    /// The records of `type` for `name`, plus any CNAME records the answer went through.
    /// Throws `DNSError.nxdomain` / `.noData` when the name or the type does not exist.
    func lookup(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) async throws -> [DNSRecord]
}

extension DNSResolver {
    /// A and AAAA addresses of `name`; `noData` only when it has neither.
    public func addresses(of name: String, deadline: ContinuousClock.Instant) async throws -> [String] {
        var found: [String] = []
        for type in [DNSRecordType.a, .aaaa] {
            do {
                for record in try await lookup(name, type, deadline: deadline) {
                    switch record {
                    case .a(let ip), .aaaa(let ip): found.append(ip)
                    default: break
                    }
                }
            } catch DNSError.noData {
                continue
            }
        }
        guard !found.isEmpty else { throw DNSError.noData(name, .a) }
        return found
    }

    /// MX records, most preferred first.
    public func mx(of name: String, deadline: ContinuousClock.Instant) async throws -> [(preference: Int, exchange: String)] {
        try await lookup(name, .mx, deadline: deadline).compactMap { record -> (preference: Int, exchange: String)? in
            if case .mx(let preference, let exchange) = record { return (preference, exchange) }
            return nil
        }.sorted { $0.preference < $1.preference }
    }

    public func txt(of name: String, deadline: ContinuousClock.Instant) async throws -> [String] {
        try await lookup(name, .txt, deadline: deadline).compactMap {
            if case .txt(let text) = $0 { return text }
            return nil
        }
    }

    /// Names for an IPv4 or IPv6 address (its `in-addr.arpa` / `ip6.arpa` PTR records).
    public func ptr(of ip: String, deadline: ContinuousClock.Instant) async throws -> [String] {
        guard let name = Self.reverseName(ip) else { throw DNSError.serverFailure("not an IP address: \(ip)") }
        return try await lookup(name, .ptr, deadline: deadline).compactMap {
            if case .ptr(let host) = $0 { return host }
            return nil
        }
    }

    /// `4.3.2.1.in-addr.arpa` for 1.2.3.4; nibbles under `ip6.arpa` for IPv6 (RFC 3596 §2.5).
    public static func reverseName(_ ip: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { bytes in
                bytes.reversed().map { String($0) }.joined(separator: ".") + ".in-addr.arpa"
            }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ip, &v6) == 1 {
            let digits = Array("0123456789abcdef")
            return withUnsafeBytes(of: &v6) { bytes in
                bytes.reversed().flatMap { [String(digits[Int($0 & 0xf)]), String(digits[Int($0 >> 4)])] }.joined(separator: ".") + ".ip6.arpa"
            }
        }
        return nil
    }
}

/// The default until a real resolver exists: every lookup says clearly that none is configured,
/// so a DNS plugin fails loudly instead of passing mail it could not check.
public struct UnconfiguredDNSResolver: DNSResolver {
    public init() {}
    public func lookup(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) async throws -> [DNSRecord] {
        throw DNSError.notConfigured
    }
}
