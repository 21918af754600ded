/// How the bytes after a reply must be read. The session machine decides it; the framer obeys.
public enum ReadingMode: Sendable, Hashable {
    /// Command lines, pipelined (RFC 2920).
    case commands
    /// The message after 354, up to `<CRLF>.<CRLF>`.
    case message
    /// One line answering a 334 prompt (RFC 4954). Nothing in it is taken for a verb: a base64
    /// answer that happens to read `DATA` must not change how the next bytes are read.
    case saslResponse
    /// The 220 to STARTTLS: buffered plaintext is thrown away and the TLS handshake starts.
    case startTLS
    /// The connection ends once the reply is written.
    case close

    /// The verbs whose reply decides how the following bytes are read: message bytes or commands
    /// (DATA, BDAT), a handshake or commands (STARTTLS), SASL lines or commands (AUTH). In command
    /// mode the framer stops after such a line until the reply to it says which; any other
    /// command leaves reading as it is. Case-insensitive, on the line's first word.
    public static func replyDecidesMode(forLine line: some Collection<UInt8>) -> Bool {
        func verbIs(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard line.count >= n else { return false }
            if line.count > n, line[line.index(line.startIndex, offsetBy: n)] != UInt8(ascii: " ") { return false }
            return word.withUTF8Buffer { expected in
                zip(expected, line.prefix(n)).allSatisfy { $0 == ($1 | 0x20) }
            }
        }
        return verbIs("data") || verbIs("bdat") || verbIs("starttls") || verbIs("auth")
    }
}
