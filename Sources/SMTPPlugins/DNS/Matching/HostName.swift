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
