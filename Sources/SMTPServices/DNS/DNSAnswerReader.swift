import DNSWire
import SMTPPluginAPI

/// Reads a server's response to one question: the records asked for (after any CNAME chain in
/// the answer section), or the negative answer with its RFC 2308 TTL, or where the chain leaves
/// the answer and needs another query.
enum DNSAnswerReader {
    enum Outcome: Equatable {
        /// Records of the asked type, led by the CNAMEs walked; `ttl` is the smallest used.
        case records([DNSRecord], ttl: UInt32)
        /// NXDOMAIN or no data; `ttl` from the SOA in the authority section, nil when absent.
        case negative(DNSError, ttl: UInt32?)
        /// The CNAME chain ends at `target`, whose records the server did not include.
        case alias(chain: [DNSRecord], target: String, ttl: UInt32)
        /// SERVFAIL, REFUSED and the like: says nothing about the name.
        case failure(String)
    }

    /// Longest CNAME chain followed inside one answer (unbound stops at 8 as well).
    static let maximumChain = 8

    static func read(_ message: DNSMessage, name: String, type: DNSRecordType) -> Outcome {
        let rcode = message.header.rcode
        guard rcode == DNSRCode.noError || rcode == DNSRCode.nxDomain else {
            return .failure("server answered \(rcodeName(rcode)) for \(name) \(type.rawValue)")
        }
        let wanted = typeNumber(type)
        var owner = name
        var chain: [DNSRecord] = []
        var ttl = UInt32.max
        for _ in 0...maximumChain {
            let matching = message.answers.filter { $0.name == owner && $0.type == wanted && $0.rrclass == 1 }
            let records = matching.compactMap { record(from: $0.data) }
            if !records.isEmpty {
                ttl = matching.reduce(ttl) { min($0, $1.ttl) }
                return .records(chain + records, ttl: ttl)
            }
            guard type != .cname,
                  let alias = message.answers.first(where: { $0.name == owner && $0.type == DNSType.cname }),
                  case .cname(let target) = alias.data
            else { break }
            chain.append(.cname(target))
            ttl = min(ttl, alias.ttl)
            owner = target
        }
        let negativeTTL = soaNegativeTTL(message)
        if rcode == DNSRCode.nxDomain {
            // With a chain, NXDOMAIN is about the chain's end (RFC 6604); either way no records exist.
            return .negative(.nxdomain(name), ttl: negativeTTL.map { min($0, ttl) })
        }
        if let last = chain.last, case .cname(let target) = last, !hasSOA(message) {
            return .alias(chain: chain, target: target, ttl: ttl)
        }
        return .negative(.noData(name, type), ttl: negativeTTL.map { min($0, ttl) })
    }

    /// RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM field.
    private static func soaNegativeTTL(_ message: DNSMessage) -> UInt32? {
        for record in message.authorities {
            if case .soa(_, _, _, _, _, _, let minimum) = record.data { return min(record.ttl, minimum) }
        }
        return nil
    }

    private static func hasSOA(_ message: DNSMessage) -> Bool {
        message.authorities.contains { $0.type == DNSType.soa }
    }

    static func typeNumber(_ type: DNSRecordType) -> UInt16 {
        switch type {
        case .a: return DNSType.a
        case .aaaa: return DNSType.aaaa
        case .mx: return DNSType.mx
        case .txt: return DNSType.txt
        case .ptr: return DNSType.ptr
        case .cname: return DNSType.cname
        }
    }

    /// Records as plugins see them. Host names and texts from DNS end up in headers, logs and
    /// SMTP replies, and a hostile zone can put any byte in them: a name with a control
    /// character, space or repaired byte is dropped (no real host has one), and control
    /// characters in TXT become spaces, so CR LF from a blocklist cannot inject a header or a
    /// reply line.
    private static func record(from data: DNSRData) -> DNSRecord? {
        switch data {
        case .a(let ip): return .a(ip)
        case .aaaa(let ip): return .aaaa(ip)
        case .mx(let preference, let exchange): return isSafeHostName(exchange) ? .mx(preference: Int(preference), exchange: exchange) : nil
        case .txt(let strings): return .txt(withoutControlCharacters(strings.joined()))
        case .ptr(let host): return isSafeHostName(host) ? .ptr(host) : nil
        case .cname(let host): return isSafeHostName(host) ? .cname(host) : nil
        case .ns, .soa, .unknown: return nil
        }
    }

    static func isSafeHostName(_ name: String) -> Bool {
        name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f && $0 != "\u{FFFD}" }
    }

    static func withoutControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
    }

    static func rcodeName(_ rcode: UInt16) -> String {
        switch rcode {
        case DNSRCode.formErr: return "FORMERR"
        case DNSRCode.servFail: return "SERVFAIL"
        case DNSRCode.notImp: return "NOTIMP"
        case DNSRCode.refused: return "REFUSED"
        default: return "RCODE \(rcode)"
        }
    }
}
