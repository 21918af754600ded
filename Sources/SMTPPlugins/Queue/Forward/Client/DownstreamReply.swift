import SMTPPluginAPI

/// One reply from the downstream server (RFC 5321 §4.2): its code, the enhanced status code when
/// the first line carries one (RFC 2034), and the text of each line without either.
struct DownstreamReply: Sendable, Hashable, CustomStringConvertible {
    var code: Int
    var enhancedCode: EnhancedStatusCode?
    var lines: [String]

    var isPositive: Bool { code < 400 }
    var isTransient: Bool { (400..<500).contains(code) }
    var isPermanent: Bool { code >= 500 }

    /// The reply as we pass it on to our own client, code and text unchanged.
    var relayed: SMTPReply { SMTPReply(code: code, enhancedCode: enhancedCode, lines: lines) }

    /// The last word of the last line: where Postfix, Exim and qmail put their queue id
    /// (`250 2.0.0 Ok: queued as 4Xy7Z`), and what qpsmtpd's smtp-forward reports.
    var lastWord: String {
        lines.last?.split(separator: " ").last.map(String.init) ?? ""
    }

    var description: String { "\(code)\(enhancedCode.map { " \($0)" } ?? "") \(lines.joined(separator: " / "))" }
}

/// Reads replies off a connection: `250-first` lines until `250 last`. Every line must carry
/// the same code; anything else means we are not talking to an SMTP server (or lost sync).
enum DownstreamReplyReader {
    /// Longest reply line we read; RFC 5321 §4.5.3.1.5 allows 512, servers' texts run longer.
    static let maximumLine = 4096
    /// A reply with more lines than this is not a reply (an EHLO list has a few dozen at most).
    static let maximumLines = 200

    struct ProtocolViolation: Error, CustomStringConvertible {
        var description: String
    }

    static func read(from connection: any OutboundConnection, deadline: ContinuousClock.Instant) async throws -> DownstreamReply {
        var lines: [[UInt8]] = []
        while true {
            let line = try await connection.readLineBytes(maxLength: maximumLine, deadline: deadline)
            lines.append(line)
            guard lines.count <= maximumLines else { throw ProtocolViolation(description: "reply longer than \(maximumLines) lines") }
            if line.count == 3 || (line.count > 3 && line[3] == UInt8(ascii: " ")) { break }
            guard line.count > 3, line[3] == UInt8(ascii: "-") else {
                throw ProtocolViolation(description: "not an SMTP reply: \(String(decoding: line.prefix(80), as: UTF8.self))")
            }
        }
        return try parse(lines.map { String(decoding: $0, as: UTF8.self) })
    }

    /// The reply these lines make: a 2xx–5xx code on every line (3xx too: `354`), the same on
    /// each; an enhanced code taken from the first line and removed from every line that repeats it.
    static func parse(_ lines: [String]) throws -> DownstreamReply {
        guard let first = lines.first, let code = Int(first.prefix(3)), first.prefix(3).allSatisfy(\.isNumber), (200...599).contains(code) else {
            throw ProtocolViolation(description: "not an SMTP reply: \(lines.first?.prefix(80) ?? "")")
        }
        var texts: [Substring] = []
        for line in lines {
            guard line.prefix(3) == first.prefix(3) else {
                throw ProtocolViolation(description: "reply lines with different codes: \(first.prefix(3)) and \(line.prefix(3))")
            }
            texts.append(line.dropFirst(4))
        }
        // RFC 3463: the class must agree with the code; a 3xx has none (RFC 2034 §3).
        var enhanced: EnhancedStatusCode?
        if let (own, _) = EnhancedStatusCode.split(leadingCodeOf: texts[0]), own.statusClass == code / 100 {
            enhanced = own
            let prefix = "\(own) "
            texts = texts.map { text in
                if text.hasPrefix(prefix) { return text.dropFirst(prefix.count) }
                return text == "\(own)" ? "" : text
            }
        }
        return DownstreamReply(code: code, enhancedCode: enhanced, lines: texts.map(String.init))
    }
}
