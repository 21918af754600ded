/// The byte-level tests the URI scanner is made of. Everything works on ASCII bytes: host names
/// in URIs are ASCII (IDNs travel as `xn--` labels).
enum URIBytes {
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// `[A-Za-z0-9.-]`: what a host name is made of.
    static func isHostByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == 0x2E || byte == 0x2D
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLetter(byte) || (byte >= 0x30 && byte <= 0x39)
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// `\w`: letters, digits, underscore.
    static func isWordByte(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == 0x5F }

    /// Where an authority (`user@host:port`) ends.
    static func endsAuthority(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x2F, 0x3F, 0x23, 0x5C, 0x22, 0x27, 0x3C, 0x3E, 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D: return true  // / ? # \ " ' < > ( ) [ ] { }
        default: return false
        }
    }

    /// The TLDs qpsmtpd's pattern accepts for a bare host name besides any two letters.
    static let bareGenericTLDs: Set<String> = [
        "aero", "arpa", "asia", "biz", "cat", "com", "coop", "edu", "gov", "info", "int", "jobs", "mil",
        "mobi", "museum", "name", "net", "org", "pro", "tel", "travel",
    ]

    /// Every maximal run of host bytes.
    static func hostRuns(in word: [UInt8]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var index = 0
        while index < word.count {
            guard isHostByte(word[index]) else {
                index += 1
                continue
            }
            let start = index
            while index < word.count, isHostByte(word[index]) { index += 1 }
            runs.append(start..<index)
        }
        return runs
    }

    /// The host run of each `scheme:/…` URI (qpsmtpd's `\w{3,16}:/+(?:\S+@)?`): after the scheme
    /// and its slashes, past any `userinfo@`, up to the first byte that cannot be in a host.
    static func schemedHosts(in word: [UInt8]) -> [Range<Int>] {
        var hosts: [Range<Int>] = []
        var index = 0
        while index + 1 < word.count {
            defer { index += 1 }
            guard word[index] == 0x3A, word[index + 1] == 0x2F else { continue }  // ":/"
            var schemeLength = 0
            while schemeLength < index, isWordByte(word[index - schemeLength - 1]) { schemeLength += 1 }
            guard schemeLength >= 3 else { continue }
            var start = index + 1
            while start < word.count, word[start] == 0x2F { start += 1 }
            var end = start
            while end < word.count, !endsAuthority(word[end]) { end += 1 }
            if let at = word[start..<end].lastIndex(of: 0x40) { start = at + 1 }  // past "user:pass@"
            var hostEnd = start
            while hostEnd < end, isHostByte(word[hostEnd]) { hostEnd += 1 }
            if hostEnd > start { hosts.append(start..<hostEnd) }
            index = max(index, hostEnd - 1)
        }
        return hosts
    }

    /// An IPv4 address as qpsmtpd reads one in a URI: one integer of 7 to 10 digits, or four
    /// dot-separated parts, each decimal, octal (leading 0) or hex (0x), each at most 255. Only
    /// the first four parts are read (`http://1.2.3.4.example/` names 1.2.3.4).
    static func ipv4(_ host: ArraySlice<UInt8>) -> [UInt8]? {
        if host.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard host.count >= 7, host.count <= 10, let value = UInt64(String(decoding: host, as: UTF8.self)), value <= UInt32.max else {
                return nil
            }
            return [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        let parts = host.split(separator: 0x2E, omittingEmptySubsequences: false)
        guard parts.count >= 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts.prefix(4) {
            guard let octet = numericPart(part) else { return nil }
            octets.append(octet)
        }
        return octets
    }

    private static func numericPart(_ part: ArraySlice<UInt8>) -> UInt8? {
        let text = String(decoding: part, as: UTF8.self).lowercased()
        let value: Int?
        if text.hasPrefix("0x") {
            value = text.count > 2 && text.count <= 12 ? Int(text.dropFirst(2), radix: 16) : nil
        } else if text.hasPrefix("0"), text.count > 1 {
            value = text.count <= 12 ? Int(text.dropFirst(), radix: 8) : nil
        } else {
            value = text.count <= 3 ? Int(text) : nil
        }
        guard let value, value <= 255 else { return nil }
        return UInt8(value)
    }

    /// A lower-case host name from a run of host bytes, or nil when it is not one: labels of 1 to
    /// 63 octets, at least two, 253 at most in all, and a TLD of letters (or an `xn--` label).
    /// Without `anyTLD` the TLD must be two letters or one of `bareGenericTLDs`, unless the name
    /// starts with `www.`.
    static func hostName(_ run: ArraySlice<UInt8>, anyTLD: Bool) -> String? {
        var run = run
        while let first = run.first, !isAlphanumeric(first) { run = run.dropFirst() }
        while let last = run.last, !isAlphanumeric(last) { run = run.dropLast() }
        guard run.count >= 4, run.count <= 253 else { return nil }
        let host = String(decoding: run, as: UTF8.self).lowercased()
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 }), let tld = labels.last else { return nil }
        let isPunycode = tld.hasPrefix("xn--") && tld.count > 4
        guard isPunycode || (tld.count >= 2 && tld.utf8.allSatisfy(isLetter)) else { return nil }
        if !anyTLD && !host.hasPrefix("www.") && !(tld.count == 2 || bareGenericTLDs.contains(String(tld))) { return nil }
        return host
    }
}
