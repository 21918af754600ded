/// What the downstream's EHLO (or LHLO) reply offers, as far as a forwarding client cares.
struct DownstreamCapabilities: Sendable, Hashable {
    /// The hello was EHLO/LHLO (false after falling back to HELO: no extensions at all).
    var isExtended = false
    /// RFC 2920: commands may be sent in groups.
    var pipelining = false
    /// RFC 1870: nil when SIZE is not offered; 0 when offered without a limit.
    var sizeLimit: Int?
    /// RFC 6152.
    var eightBitMIME = false
    /// RFC 3207.
    var startTLS = false
    /// Postfix's XCLIENT (its SMTPD_PROXY/XCLIENT_README): the attribute names offered, upper-cased.
    var xclientAttributes: Set<String> = []

    init() {}

    /// From the lines of a positive EHLO reply; the first line is the server's name.
    init(ehloLines lines: [String]) {
        isExtended = true
        for line in lines.dropFirst() {
            let words = line.split(separator: " ").map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            switch keyword {
            case "PIPELINING": pipelining = true
            case "SIZE": sizeLimit = words.count > 1 ? Int(words[1]) ?? 0 : 0
            case "8BITMIME": eightBitMIME = true
            case "STARTTLS": startTLS = true
            case "XCLIENT": xclientAttributes.formUnion(words.dropFirst())
            default: break
            }
        }
    }
}
