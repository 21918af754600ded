/// Turns message bytes into SMTP DATA (RFC 5321 §4.5.2), chunk by chunk: a line that starts with
/// a dot gets another one, and `finish` ends the data with ".\r\n" after a final line end. Lines
/// are recognised by LF, so a line start split across two chunks is still stuffed.
public struct DotStuffer: Sendable {
    private var atLineStart = true
    private var sawAnyByte = false

    public init() {}

    public mutating func stuff(_ chunk: [UInt8]) -> [UInt8] {
        guard !chunk.isEmpty else { return [] }
        sawAnyByte = true
        var out: [UInt8] = []
        out.reserveCapacity(chunk.count + 16)
        for byte in chunk {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == 0x0A
        }
        return out
    }

    /// The end of the data: a CRLF when the last line had none, then the terminating dot line.
    public mutating func finish() -> [UInt8] {
        let terminator: [UInt8] = Array(".\r\n".utf8)
        defer { atLineStart = true; sawAnyByte = false }
        return (atLineStart || !sawAnyByte) ? terminator : [0x0D, 0x0A] + terminator
    }
}
