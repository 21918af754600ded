/// Why a MAIL/RCPT argument was refused; `message` is the reply text (501).
public struct PathSyntaxError: Error, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// MAIL/RCPT argument split into the path text and its ESMTP parameters.
public struct PathArgument: Hashable, Sendable {
    /// The path as written (`<a@b>`, or a bare `a@b` that `dont_require_anglebrackets` may wrap); nil when absent.
    public var path: String?
    public var parameters: [ESMTPParameter]
    public init(path: String?, parameters: [ESMTPParameter]) {
        self.path = path
        self.parameters = parameters
    }
}

/// The MAIL FROM / RCPT TO argument grammar.
///
/// Splitting the argument into path and parameters follows qpsmtpd's default parser, so that
/// `mail_pre`/`rcpt_pre` plugins see the same text they saw there. The path itself is checked against
/// RFC 5321 §4.1.2 (see `AddressGrammar`), which is stricter than qpsmtpd's `canonify`.
public enum PathParser {
    /// `argument` is everything after `MAIL `.
    public static func splitMailArgument(_ argument: String) throws(PathSyntaxError) -> PathArgument {
        try split(argument, prefix: "from:")
    }

    /// `argument` is everything after `RCPT `.
    public static func splitRcptArgument(_ argument: String) throws(PathSyntaxError) -> PathArgument {
        try split(argument, prefix: "to:")
    }

    /// qpsmtpd's `_get_mail_params`, peeling parameters off the end:
    ///
    ///     argument    = prefix *WSP [ path-text ] *( 1*WSP esmtp-param ) *WSP   ; prefix case-insensitive
    ///     esmtp-param = KEY [ "=" VALUE ]
    ///     KEY         = ( ALPHA / DIGIT ) *( ALPHA / DIGIT / "-" )
    ///     VALUE       = 1*( %x21-3C / %x3E-FF )   ; anything but "=", SP and controls
    ///
    /// Whitespace is only allowed after the colon: `MAIL FROM :<x>` is a syntax error, as in qpsmtpd.
    static func split(_ argument: String, prefix: StaticString) throws(PathSyntaxError) -> PathArgument {
        let bytes = Array(argument.utf8)
        let prefixLength = prefix.utf8CodeUnitCount
        let prefixMatches = prefix.withUTF8Buffer { expected in
            bytes.count >= prefixLength && zip(expected, bytes).allSatisfy { $0 == asciiLowercased($1) }
        }
        guard prefixMatches else { throw PathSyntaxError("Syntax error in command") }

        var start = prefixLength
        while start < bytes.count, isWhitespace(bytes[start]) { start += 1 }
        var end = bytes.count
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }

        // The first word is never taken as a parameter: the loop needs whitespace in front of a token.
        var parameters: [ESMTPParameter] = []
        while let space = bytes[start..<end].lastIndex(where: isWhitespace),
            let parameter = esmtpParameter(bytes[(space + 1)..<end])
        {
            parameters.append(parameter)
            end = space
            while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        }
        parameters.reverse()

        guard end > start else { return PathArgument(path: nil, parameters: parameters) }
        let rest = bytes[start..<end]
        // Something that was not a parameter is left behind an address: `<a@b> =bad`, `<a@b> <c@d>`.
        if let at = rest.firstIndex(of: UInt8(ascii: "@")), rest[at...].contains(where: isWhitespace) {
            throw PathSyntaxError("Syntax error in parameters")
        }
        return PathArgument(path: String(decoding: rest, as: UTF8.self), parameters: parameters)
    }

    static func esmtpParameter(_ token: ArraySlice<UInt8>) -> ESMTPParameter? {
        let equals = token.firstIndex(of: UInt8(ascii: "="))
        let key = token[..<(equals ?? token.endIndex)]
        guard let first = key.first, isLetterOrDigit(first),
            key.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "-") })
        else { return nil }
        guard let equals else { return ESMTPParameter(keyword: String(decoding: key, as: UTF8.self), value: nil) }
        let value = token[(equals + 1)...]
        guard !value.isEmpty, value.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "=") }) else { return nil }
        return ESMTPParameter(
            keyword: String(decoding: key, as: UTF8.self),
            value: String(decoding: value, as: UTF8.self)
        )
    }

    /// `path` is the MAIL FROM path text including its angle brackets.
    ///
    ///     Reverse-path = Path / "<>"
    ///
    /// qmail's bounce sender `<#@[]>` and anything containing `[undefined]` (sent by broken
    /// mailers) are the null sender too, as in qpsmtpd.
    public static func parseReversePath(_ path: String) throws(PathSyntaxError) -> ReversePath {
        if path == "<>" || path == "<#@[]>" || path.contains("[undefined]") { return .null }
        // RFC 5321 allows bare postmaster only as a recipient; qpsmtpd accepts it as a sender too.
        return .mailbox(try AddressGrammar.parsePath(path, allowBarePostmaster: false))
    }

    /// `path` is the RCPT TO path text including its angle brackets.
    ///
    ///     Forward-path = Path / "<Postmaster>"   ; RFC 5321 §4.1.1.3, case-insensitive
    public static func parseForwardPath(_ path: String) throws(PathSyntaxError) -> Mailbox {
        if path == "<>" { throw PathSyntaxError("Syntax error in address: the null path is not a recipient") }
        return try AddressGrammar.parsePath(path, allowBarePostmaster: true)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default: return false
        }
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
