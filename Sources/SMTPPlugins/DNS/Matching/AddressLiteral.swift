/// An RFC 5321 §4.1.3 address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
enum AddressLiteral {
    /// The address inside the brackets, or nil when `host` is not a literal of a valid address.
    static func address(in host: String) -> IPAddress? {
        guard host.hasPrefix("["), host.hasSuffix("]"), host.count >= 3 else { return nil }
        var inner = host.dropFirst().dropLast()
        if inner.lowercased().hasPrefix("ipv6:") {
            inner = inner.dropFirst(5)
            guard let address = IPAddress(inner), !address.isV4 else { return nil }
            return address
        }
        guard let address = IPAddress(inner), address.isV4 else { return nil }
        return address
    }

    static func isLiteral(_ host: String) -> Bool { host.hasPrefix("[") && host.hasSuffix("]") }
}
