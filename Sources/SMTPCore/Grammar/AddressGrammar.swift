/// The RFC 5321 §4.1.2 path grammar, over the octets of one path.
///
/// qpsmtpd's `canonify` is looser (it accepts `<a b@c>`, `<u..v@x>`, `[300.1.1.1]` and any character
/// between domain labels); where we differ, the rule below says so.
/// Only ASCII is accepted: we do not offer SMTPUTF8 (RFC 6531), and without it a path is ASCII.
enum AddressGrammar {
    /// RFC 5321 §4.5.3.1. Its 255-octet domain limit needs no check of its own: a path is shorter.
    static let maxLocalPartLength = 64
    static let maxPathLength = 256
    /// RFC 1035 §2.3.4.
    static let maxLabelLength = 63

    typealias Octets = ArraySlice<UInt8>

    ///     Path = "<" [ A-d-l ":" ] Mailbox ">"
    static func parsePath(_ text: String, allowBarePostmaster: Bool) throws(PathSyntaxError) -> Mailbox {
        let bytes = Array(text.utf8)[...]
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "<"), bytes.last == UInt8(ascii: ">") else {
            throw error("missing angle brackets")
        }
        if bytes.contains(where: { $0 >= 0x80 }) { throw error("non-ASCII characters are not allowed") }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { throw error("control characters are not allowed") }
        guard bytes.count <= maxPathLength else { throw error("path longer than \(maxPathLength) octets") }

        var inner = bytes.dropFirst().dropLast()
        if allowBarePostmaster, String(decoding: inner, as: UTF8.self).lowercased() == "postmaster" {
            return Mailbox(localPart: "postmaster", domain: "")
        }
        if inner.first == UInt8(ascii: "@") { inner = try dropSourceRoute(inner) }
        return try mailbox(inner)
    }

    /// Source routes are obsolete (RFC 5321 §4.1.1.3, Appendix C): checked, then ignored.
    ///
    ///     A-d-l     = At-domain *( "," At-domain )
    ///     At-domain = "@" Domain
    static func dropSourceRoute(_ octets: Octets) throws(PathSyntaxError) -> Octets {
        var rest = octets
        while rest.first == UInt8(ascii: "@") {
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: ":") }),
                isDomain(rest[..<end])
            else { throw error("bad source route") }
            let separator = rest[end]
            rest = rest[(end + 1)...]
            if separator == UInt8(ascii: ":") { return rest }
        }
        throw error("bad source route")
    }

    ///     Mailbox = Local-part "@" ( Domain / address-literal )
    static func mailbox(_ octets: Octets) throws(PathSyntaxError) -> Mailbox {
        let (localPart, afterLocal) = try self.localPart(octets)
        // RFC 5321 allows `""@x`, but no mailbox has that name and `Mailbox.formatted` could not write it back.
        guard !localPart.isEmpty else { throw error("empty local part") }
        guard afterLocal - octets.startIndex <= maxLocalPartLength else {
            throw error("local part longer than \(maxLocalPartLength) octets")
        }
        guard afterLocal < octets.endIndex else { throw error("missing domain") }
        guard octets[afterLocal] == UInt8(ascii: "@") else { throw error("bad local part") }

        let domain = octets[(afterLocal + 1)...]
        guard !domain.isEmpty else { throw error("missing domain") }
        if domain.first == UInt8(ascii: "[") {
            try checkAddressLiteral(domain)
        } else if !isDomain(domain) {
            throw error("bad domain")
        }
        return Mailbox(localPart: localPart, domain: String(decoding: domain, as: UTF8.self))
    }

    /// Returns the local part, unquoted, and the index just after it.
    ///
    ///     Local-part = Dot-string / Quoted-string
    static func localPart(_ octets: Octets) throws(PathSyntaxError) -> (String, Int) {
        if octets.first == UInt8(ascii: "\"") { return try quotedString(octets) }
        let end = try dotString(octets)
        return (String(decoding: octets[..<end], as: UTF8.self), end)
    }

    /// Unlike qpsmtpd, which accepts anything that starts with an atom (`u..v`, `a b`, `a"b`).
    ///
    ///     Dot-string = Atom *( "." Atom )
    ///     Atom       = 1*atext
    static func dotString(_ octets: Octets) throws(PathSyntaxError) -> Int {
        var index = octets.startIndex
        while true {
            let atomStart = index
            while index < octets.endIndex, isAtext(octets[index]) { index += 1 }
            guard index > atomStart else {
                throw error(index == octets.startIndex ? "bad local part" : "bad local part: misplaced dot")
            }
            guard index < octets.endIndex, octets[index] == UInt8(ascii: ".") else { return index }
            index += 1
        }
    }

    /// qpsmtpd leaves SP out of qtext, refusing `"a b"@x`; RFC 5321 allows it.
    ///
    ///     Quoted-string   = DQUOTE *QcontentSMTP DQUOTE
    ///     QcontentSMTP    = qtextSMTP / quoted-pairSMTP
    ///     quoted-pairSMTP = %d92 %d32-126
    ///     qtextSMTP       = %d32-33 / %d35-91 / %d93-126
    static func quotedString(_ octets: Octets) throws(PathSyntaxError) -> (String, Int) {
        var unquoted: [UInt8] = []
        var index = octets.startIndex + 1
        while index < octets.endIndex {
            let byte = octets[index]
            switch byte {
            case UInt8(ascii: "\""):
                return (String(decoding: unquoted, as: UTF8.self), index + 1)
            case UInt8(ascii: "\\"):
                guard index + 1 < octets.endIndex, (32...126).contains(octets[index + 1]) else {
                    throw error("bad quoted local part")
                }
                unquoted.append(octets[index + 1])
                index += 2
            case 32...126:
                unquoted.append(byte)
                index += 1
            default:
                throw error("bad quoted local part")
            }
        }
        throw error("unterminated quoted local part")
    }

    /// qpsmtpd builds its separator regex in a double-quoted string, so any character separates
    /// labels there (`a@example_test`); here only a dot does.
    ///
    ///     Domain     = sub-domain *( "." sub-domain )
    ///     sub-domain = Let-dig [ Ldh-str ]
    ///     Let-dig    = ALPHA / DIGIT
    ///     Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
    static func isDomain(_ octets: Octets) -> Bool {
        guard !octets.isEmpty else { return false }
        return octets.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last, label.count <= maxLabelLength else { return false }
            return PathParser.isLetterOrDigit(first) && PathParser.isLetterOrDigit(last)
                && label.allSatisfy { PathParser.isLetterOrDigit($0) || $0 == UInt8(ascii: "-") }
        }
    }

    ///     address-literal         = "[" ( IPv4-address-literal / IPv6-address-literal /
    ///                                     General-address-literal ) "]"
    ///     IPv6-address-literal    = "IPv6:" IPv6-addr
    ///     General-address-literal = Standardized-tag ":" 1*dcontent
    ///
    /// No General-address-literal tag is registered with IANA besides IPv6, so we refuse them all.
    static func checkAddressLiteral(_ octets: Octets) throws(PathSyntaxError) {
        guard octets.count >= 2, octets.last == UInt8(ascii: "]") else { throw error("bad address literal") }
        let content = octets.dropFirst().dropLast()
        if content.first.map(isDigit) == true {
            guard isIPv4(content) else { throw error("bad IPv4 address literal") }
            return
        }
        let tag = content.prefix(5).map(PathParser.asciiLowercased)
        if tag.elementsEqual("ipv6:".utf8) {
            guard isIPv6(content.dropFirst(5)) else { throw error("bad IPv6 address literal") }
            return
        }
        if content.contains(UInt8(ascii: ":")) { throw error("unsupported address literal") }
        throw error("bad address literal")
    }

    /// Range-checked, unlike qpsmtpd (which accepts `[300.1.1.1]`).
    ///
    ///     IPv4-address-literal = Snum 3( "." Snum )
    ///     Snum                 = 1*3DIGIT   ; representing a decimal integer value in the range 0 through 255
    static func isIPv4(_ octets: Octets) -> Bool {
        let parts = octets.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy(isSnum)
    }

    static func isSnum(_ octets: Octets) -> Bool {
        guard (1...3).contains(octets.count), octets.allSatisfy(isDigit) else { return false }
        return octets.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 255
    }

    ///     IPv6-addr   = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
    ///     IPv6-hex    = 1*4HEXDIG
    ///     IPv6-full   = IPv6-hex 7( ":" IPv6-hex )
    ///     IPv6-comp   = [ IPv6-hex *5( ":" IPv6-hex ) ] "::" [ IPv6-hex *5( ":" IPv6-hex ) ]
    ///                   ; the "::" stands for at least 2 groups: at most 6 others
    ///     IPv6v4-full = IPv6-hex 5( ":" IPv6-hex ) ":" IPv4-address-literal
    ///     IPv6v4-comp = [ IPv6-hex *3( ":" IPv6-hex ) ] "::" [ IPv6-hex *3( ":" IPv6-hex ) ":" ]
    ///                   IPv4-address-literal   ; at most 4 other groups
    ///
    /// An embedded IPv4 address counts as two groups, which makes the four forms one rule.
    static func isIPv6(_ octets: Octets) -> Bool {
        let colon = UInt8(ascii: ":")
        var halves: [Octets] = []
        var index = octets.startIndex
        var pieceStart = index
        while index < octets.endIndex {
            if octets[index] == colon, index + 1 < octets.endIndex, octets[index + 1] == colon {
                halves.append(octets[pieceStart..<index])
                index += 2
                pieceStart = index
            } else {
                index += 1
            }
        }
        halves.append(octets[pieceStart...])
        guard halves.count <= 2 else { return false }

        var groups = 0
        for (halfIndex, half) in halves.enumerated() where !half.isEmpty {
            let pieces = half.split(separator: colon, omittingEmptySubsequences: false)
            for (pieceIndex, piece) in pieces.enumerated() {
                let isLastPiece = halfIndex == halves.count - 1 && pieceIndex == pieces.count - 1
                if isLastPiece, piece.contains(UInt8(ascii: ".")) {
                    guard isIPv4(piece) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(piece.count), piece.allSatisfy(isHexDigit) else { return false }
                    groups += 1
                }
            }
        }
        return halves.count == 1 ? groups == 8 : groups <= 6
    }

    ///     atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
    ///             "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"        ; RFC 5322 §3.2.3
    static func isAtext(_ byte: UInt8) -> Bool {
        if PathParser.isLetterOrDigit(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
            UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(PathParser.asciiLowercased(byte))
    }

    static func error(_ detail: String) -> PathSyntaxError { PathSyntaxError("Syntax error in address: \(detail)") }
}
