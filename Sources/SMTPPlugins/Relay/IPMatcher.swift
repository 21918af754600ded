/// An IPv4 or IPv6 address as its 4 or 16 octets in network order.
struct IPAddress: Hashable, Sendable {
    var octets: [UInt8]

    var isV4: Bool { octets.count == 4 }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (`::` compression, an embedded IPv4 tail,
    /// an ignored `%zone`). Addresses from the socket come as text, so no inet_pton round trip.
    init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }
        if let v4 = Self.parseV4(text) {
            octets = v4
        } else if let v6 = Self.parseV6(text) {
            octets = v6
        } else {
            return nil
        }
    }

    init(octets: [UInt8]) { self.octets = octets }

    /// The IPv4 address inside `::ffff:a.b.c.d`, so mapped clients match IPv4 entries.
    var unmappedV4: IPAddress? {
        guard octets.count == 16, octets[0..<10].allSatisfy({ $0 == 0 }), octets[10] == 0xFF, octets[11] == 0xFF else {
            return nil
        }
        return IPAddress(octets: Array(octets[12..<16]))
    }

    static let loopbackV6 = IPAddress(octets: Array(repeating: 0, count: 15) + [1])

    static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard let value = decimalOctet(part) else { return nil }
            out.append(value)
        }
        return out
    }

    static func decimalOctet(_ text: Substring) -> UInt8? {
        guard !text.isEmpty, text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt8(text)
    }

    /// One to four hex digits (the integer initialisers would also take a sign).
    static func hexGroup(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 4, text.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return UInt16(text, radix: 16)
    }

    static func parseV6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        let halves = text.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false)
        if halves.count == 2, halves[1].contains("::") { return nil }
        guard var head = groups(halves[0], allowV4Tail: halves.count == 1) else { return nil }
        if halves.count == 1 {
            return head.count == 16 ? head : nil
        }
        guard let tail = groups(halves[1], allowV4Tail: true), head.count + tail.count <= 14 else { return nil }
        head += Array(repeating: 0, count: 16 - head.count - tail.count)
        return head + tail
    }

    /// The octets of colon-separated hex groups; the last group may be a dotted IPv4 address.
    private static func groups(_ text: Substring, allowV4Tail: Bool) -> [UInt8]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var out: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1, allowV4Tail, part.contains(".") {
                guard let v4 = parseV4(part) else { return nil }
                out += v4
                continue
            }
            guard let value = hexGroup(part) else { return nil }
            out += [UInt8(value >> 8), UInt8(value & 0xFF)]
        }
        return out
    }
}

/// Matches client addresses against qpsmtpd's relay-list syntax: exact addresses, prefixes that end
/// in `.` or `:` (`192.168.`, `2001:db8:`), and CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`).
struct IPMatcher: Sendable {
    enum Rule: Hashable, Sendable {
        case network(IPAddress, prefixLength: Int)
        /// A prefix that is not a whole number of groups (`2001:db8::`): compared as text, the way
        /// qpsmtpd compares it.
        case textPrefix(String)
    }

    private(set) var rules: [Rule] = []
    /// Entries that are none of the above, for a warning at start-up.
    private(set) var invalidEntries: [String] = []

    init(entries: [String]) {
        for entry in entries {
            // A list line may carry a comment or value after the address (morerelayclients maps).
            guard let word = entry.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { continue }
            if let rule = Self.rule(word.lowercased()) {
                rules.append(rule)
            } else {
                invalidEntries.append(entry)
            }
        }
    }

    var isEmpty: Bool { rules.isEmpty }

    static func rule(_ entry: String) -> Rule? {
        if let slash = entry.firstIndex(of: "/") {
            guard let address = IPAddress(entry[..<slash]), let length = Int(entry[entry.index(after: slash)...]),
                length >= 0, length <= address.octets.count * 8
            else { return nil }
            return .network(address, prefixLength: length)
        }
        if entry.hasSuffix(".") {
            // Whole octets: `192.168.` is 192.168.0.0/16.
            let parts = entry.dropLast().split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 3 else { return nil }
            var octets: [UInt8] = []
            for part in parts {
                guard let value = IPAddress.decimalOctet(part) else { return nil }
                octets.append(value)
            }
            return .network(IPAddress(octets: octets + Array(repeating: 0, count: 4 - octets.count)), prefixLength: octets.count * 8)
        }
        if entry.hasSuffix(":") && !entry.hasSuffix("::") {
            // Whole groups: `2001:db8:` is 2001:db8::/32.
            let parts = entry.dropLast().split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 7 else { return nil }
            var octets: [UInt8] = []
            for part in parts {
                guard let value = IPAddress.hexGroup(part) else { return nil }
                octets += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return .network(IPAddress(octets: octets + Array(repeating: 0, count: 16 - octets.count)), prefixLength: octets.count * 8)
        }
        if let address = IPAddress(entry) {
            if entry.hasSuffix("::") { return .textPrefix(entry) }
            return .network(address, prefixLength: address.octets.count * 8)
        }
        return nil
    }

    /// Whether `text` (the client's address as the socket gave it) matches any rule.
    func matches(_ text: String) -> Bool {
        guard let address = IPAddress(text) else { return false }
        let mapped = address.unmappedV4
        let lowered = text.lowercased()
        for rule in rules {
            switch rule {
            case .network(let network, let length):
                if Self.contains(network, length, address) { return true }
                if let mapped, Self.contains(network, length, mapped) { return true }
            case .textPrefix(let prefix):
                if lowered.hasPrefix(prefix) { return true }
            }
        }
        return false
    }

    private static func contains(_ network: IPAddress, _ length: Int, _ address: IPAddress) -> Bool {
        guard network.octets.count == address.octets.count else { return false }
        var bits = length
        for i in 0..<network.octets.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if network.octets[i] & mask != address.octets[i] & mask { return false }
            bits -= 8
        }
        return true
    }
}
