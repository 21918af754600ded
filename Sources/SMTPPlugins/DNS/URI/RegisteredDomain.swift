/// Which names a URI's host is looked up under, as qpsmtpd's uribl decides: the registered
/// domain is the last two labels, or the last three under the country-code TLDs that register
/// names at the third level only (`example.co.uk`). qpsmtpd then asks for the host and every
/// parent down to that domain; a registered domain in `uribl_whitelist_domains` is skipped.
enum RegisteredDomain {
    /// qpsmtpd's `%strict_twolevel_cctlds`: ccTLDs that allocate names within a strict two-level
    /// hierarchy.
    static let twoLevelCountryCodes: Set<String> = [
        "ac", "ae", "uk", "ai", "ar", "at", "au", "az", "bb", "bh", "bm", "br", "bs", "ca", "ck", "cn",
        "co", "cr", "cu", "cy", "do", "et", "ge", "hk", "id", "il", "jp", "kr", "kw", "lv", "sg", "za",
    ]

    /// How many labels the registered domain of `labels` has.
    static func labelCount(of labels: [Substring]) -> Int {
        guard let tld = labels.last else { return 2 }
        return twoLevelCountryCodes.contains(String(tld)) ? 3 : 2
    }

    /// The registered domain of a lower-case host, or nil when the host is no deeper than a
    /// public suffix (`co.uk`).
    static func of(_ host: String) -> String? {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let count = labelCount(of: labels)
        guard labels.count >= count else { return nil }
        return labels.suffix(count).joined(separator: ".")
    }

    /// The names to look up for `host`: its registered domain first (the one that matters most
    /// if the lookup budget runs out), then the host and its other parents, longest first.
    static func lookupNames(for host: String) -> [String] {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let count = labelCount(of: labels)
        guard labels.count >= count else { return [] }
        var names = [labels.suffix(count).joined(separator: ".")]
        var start = 0
        while labels.count - start > count {
            names.append(labels[start...].joined(separator: "."))
            start += 1
        }
        return names
    }
}
