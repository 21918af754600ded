import SMTPPluginAPI

/// How fcrdns and helo compare the addresses DNS gives with the client's address.
extension IPAddress {
    /// qpsmtpd's `is_localhost`: 127.0.0.0/8, the same mapped into IPv6, and ::1.
    var isLoopback: Bool {
        if let v4 = unmappedV4 { return v4.isLoopback }
        if isV4 { return octets[0] == 127 }
        return self == IPAddress.loopbackV6
    }

    /// The same host, with an IPv4-mapped IPv6 address counted as its IPv4 address.
    func isSameHost(as other: IPAddress) -> Bool {
        (unmappedV4 ?? self) == (other.unmappedV4 ?? other)
    }

    /// qpsmtpd's "network match", which lets a pool of servers pass: the same first three octets
    /// for IPv4 and, where asked for, the same first six groups (a /96) for IPv6.
    func isSameNetwork(as other: IPAddress, includingIPv6: Bool) -> Bool {
        let a = unmappedV4 ?? self
        let b = other.unmappedV4 ?? other
        guard a.octets.count == b.octets.count else { return false }
        if a.isV4 { return a.octets[0..<3] == b.octets[0..<3] }
        return includingIPv6 && a.octets[0..<12] == b.octets[0..<12]
    }

    /// The text to look the address up by: an IPv4-mapped IPv6 address as its IPv4 address, so its
    /// PTR records are found under in-addr.arpa.
    func reverseLookupText(given text: String) -> String {
        guard let v4 = unmappedV4 else { return text }
        return v4.octets.map(String.init).joined(separator: ".")
    }

    /// The record type that holds addresses of this family, for forward lookups.
    var addressRecordType: DNSRecordType { (unmappedV4 ?? self).isV4 ? .a : .aaaa }
}
