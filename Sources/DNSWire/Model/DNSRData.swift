/// RDATA, typed for the record types the mail checks ask for. Decoding chooses the case from the
/// record's type alone, whatever its class.
public enum DNSRData: Sendable, Hashable {
    /// Dotted quad, "192.0.2.1".
    case a(String)
    /// RFC 5952 text, "2001:db8::1"; an IPv4-mapped address as "::ffff:192.0.2.1" (RFC 5952 §5).
    case aaaa(String)
    case cname(String), ptr(String), ns(String)
    /// `exchange` "" is the null MX of RFC 7505.
    case mx(preference: UInt16, exchange: String)
    /// The record's character-strings, in order (bytes read as UTF-8, invalid sequences repaired).
    case txt([String])
    case soa(mname: String, rname: String, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    /// Any other type: the raw RDATA.
    case unknown([UInt8])
}
