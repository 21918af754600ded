import SMTPPluginAPI

/// One line of `dnsbl_zones`, `rhsbl_zones` or `whitelist_zones`: a zone, and optionally the text
/// to give when the zone lists a name. As in qpsmtpd, a zone with a text is asked for A records
/// (lists that publish no TXT); a zone without one is asked for TXT, whose text is the reason.
struct DNSListZone: Sendable, Hashable {
    var zone: String
    var text: String?

    /// The record type this zone is asked for.
    var recordType: DNSRecordType { text == nil ? .txt : .a }

    /// Parses config lines: `zone`, `zone text…`, and with `colon` also `zone:text…` (dnsbl's
    /// form). A zone holds neither spaces nor colons, so accepting both forms is unambiguous.
    static func parse(_ lines: [String], colon: Bool) -> [DNSListZone] {
        lines.compactMap { line in
            let separator = line.firstIndex { $0 == " " || $0 == "\t" || (colon && $0 == ":") }
            let zone = line[..<(separator ?? line.endIndex)].lowercased().trimming { $0 == "." }
            guard !zone.isEmpty else { return nil }
            let text = separator.map { line[line.index(after: $0)...].trimming { $0 == " " || $0 == "\t" } }
            return DNSListZone(zone: zone, text: text?.isEmpty == false ? text : nil)
        }
    }
}

/// What asking every zone about one name found.
struct DNSListFindings: Sendable, Hashable {
    /// The zone that listed the name.
    var listedBy: DNSListZone?
    /// Why: the zone's text, or the TXT record's (empty when the record was).
    var reason = ""
    /// Zones whose lookup failed (timeout, server failure), each with why.
    var failures: [String] = []
}

/// Asks DNS lists about a name, every zone at once.
enum DNSList {
    /// The labels a client's address takes under an IP list: `4.3.2.1` for 1.2.3.4, 32 nibbles
    /// for IPv6 (RFC 5782 §2.4). An IPv4-mapped IPv6 address is looked up as the IPv4 address.
    static func reversedLabels(of ip: String) -> String? {
        guard let parsed = IPAddress(ip) else { return nil }
        let address = parsed.unmappedV4 ?? parsed
        let text = address.isV4 ? address.octets.map(String.init).joined(separator: ".") : ip
        guard let name = UnconfiguredDNSResolver.reverseName(text) else { return nil }
        for suffix in [".in-addr.arpa", ".ip6.arpa"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return nil
    }

    /// Asks every zone about `labels` (as `labels.zone`) in parallel. Returns at the first
    /// listing, cancelling the other lookups; otherwise once every zone has answered or failed.
    static func check(
        _ labels: String, in zones: [DNSListZone], dns: any DNSResolver, deadline: ContinuousClock.Instant
    ) async -> DNSListFindings {
        await withTaskGroup(of: (DNSListZone, Result<String?, any Error>).self) { group in
            for zone in zones {
                group.addTask {
                    do {
                        return (zone, .success(try await reason("\(labels).\(zone.zone)", in: zone, dns: dns, deadline: deadline)))
                    } catch {
                        return (zone, .failure(error))
                    }
                }
            }
            var findings = DNSListFindings()
            for await (zone, answer) in group {
                switch answer {
                case .success(let reason?):
                    findings.listedBy = zone
                    findings.reason = reason
                    group.cancelAll()
                    return findings
                case .success(nil):
                    continue
                case .failure(let error):
                    findings.failures.append("\(zone.zone): \(error)")
                }
            }
            return findings
        }
    }

    /// Why `zone` lists `name`, or nil when it does not (NXDOMAIN, or no record of the type
    /// asked — an answer either way). A failed lookup throws.
    static func reason(_ name: String, in zone: DNSListZone, dns: any DNSResolver, deadline: ContinuousClock.Instant) async throws -> String? {
        let records: [DNSRecord]
        do {
            records = try await dns.lookup(name, zone.recordType, deadline: deadline)
        } catch let error where !DNSFailurePolicy.isFailure(error) {
            return nil
        }
        for record in records {
            switch record {
            case .a: return zone.text ?? ""
            case .txt(let text): return text
            default: continue  // CNAMEs met on the way
            }
        }
        return nil
    }
}

extension StringProtocol {
    /// Without leading and trailing characters that match `drop`.
    fileprivate func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }
}
