import SMTPPluginAPI

/// Host-name tests shared by fcrdns and helo, written as qpsmtpd writes them (its `is_fqdn`,
/// `is_not_fqdn`, `check_name_match`).
enum HostName {
    /// Lower case, no trailing root dot: the form DNS answers and our comparisons use.
    static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// At least one dot.
    static func hasDot(_ name: String) -> Bool { name.contains(".") }

    /// Only the characters RFC 1035 allows in host names: letters, digits, hyphen and dot.
    static func hasOnlyHostCharacters(_ name: String) -> Bool {
        name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2E
        }
    }

    /// The last two labels (`example.com` of `mx1.example.com`), or nil for a name with fewer.
    static func lastTwoLabels(_ name: String) -> String? {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return nil }
        return labels.suffix(2).joined(separator: ".")
    }
}

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

extension HookContext {
    /// When a DNS lookup made now must end: `timeout` from now, and never after the hook's own deadline.
    func lookupDeadline(within timeout: Duration?) -> ContinuousClock.Instant {
        guard let timeout else { return deadline }
        return min(deadline, .now + timeout)
    }
}
