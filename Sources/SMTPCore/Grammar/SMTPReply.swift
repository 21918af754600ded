public import NIOCore

/// A complete SMTP reply: a three-digit code, an optional enhanced status code and one or more text lines.
///
///     Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF   (RFC 5321 §4.2)
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    /// Written in front of every line's text when set.
    public var enhancedCode: EnhancedStatusCode?
    public var lines: [String]

    public init(code: Int, enhancedCode: EnhancedStatusCode? = nil, lines: [String]) {
        precondition((200...599).contains(code), "reply codes are three digits, 2xx to 5xx")
        self.code = code
        self.enhancedCode = enhancedCode.map { $0.matching(replyCode: code) }
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode? = nil, _ text: String) {
        self.init(code: code, enhancedCode: enhancedCode, lines: SMTPReply.splitLines(text))
    }

    /// Builds a reply from text that may carry its own leading `X.Y.Z` (a plugin's message),
    /// falling back to `defaultEnhanced` when it does not. Embedded newlines become separate lines.
    /// The code's class always follows the reply: a plugin's `.denySoft("5.7.1 …")` goes out as
    /// `450 4.7.1 …`, never as a 4xx carrying a 5.x.x code (RFC 3463 §2).
    public init(code: Int, defaultEnhanced: EnhancedStatusCode?, text: String) {
        var lines = SMTPReply.splitLines(text)
        var enhanced = defaultEnhanced
        if let first = lines.first, let (own, rest) = EnhancedStatusCode.split(leadingCodeOf: Substring(first)) {
            enhanced = own
            lines[0] = String(rest)
        }
        self.init(code: code, enhancedCode: enhanced, lines: lines)
    }

    public var isPositive: Bool { code < 400 }
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    public var isPermanentFailure: Bool { code >= 500 }

    /// The text of all lines joined with a space, without codes; for logs.
    public var text: String { lines.joined(separator: " ") }

    public var description: String { "\(code)\(enhancedCode.map { " \($0)" } ?? "") \(text)" }

    static func splitLines(_ text: String) -> [String] {
        // Nearly every reply is one clean line: say so without building new strings (this was
        // 5% of the daemon's CPU per message in the profile).
        if !text.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) { return [text] }
        // qpsmtpd turns "\n" inside a plugin's message into separate reply lines; CR and other
        // control characters would corrupt the reply stream, so they are dropped.
        // Split on scalars: in Swift "\r\n" is one Character and would not match "\n".
        return text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(String.UnicodeScalarView(line.filter { $0.value >= 0x20 && $0.value != 0x7F || $0 == "\t" }))
        }
    }
}

extension SMTPReply {
    /// Appends the wire form, CRLF after every line.
    public func write(to buffer: inout ByteBuffer) {
        var codeBytes: (UInt8, UInt8, UInt8) = (
            UInt8(ascii: "0") + UInt8(code / 100), UInt8(ascii: "0") + UInt8(code / 10 % 10),
            UInt8(ascii: "0") + UInt8(code % 10)
        )
        let prefix = enhancedCode.map { "\($0) " }
        for (index, line) in lines.enumerated() {
            withUnsafeBytes(of: &codeBytes) { _ = buffer.writeBytes($0) }
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let prefix { buffer.writeString(prefix) }
            buffer.writeString(line)
            buffer.writeStaticString("\r\n")
        }
    }

    public var wireString: String {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return String(buffer: buffer)
    }
}
