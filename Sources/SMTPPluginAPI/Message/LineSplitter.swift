/// Splits a byte stream into lines for line-based protocols (Postfix's records, qmail's LF-ended
/// message), chunk by chunk: a line split across chunks comes out whole. Endings (LF, or CRLF)
/// are removed; a CR not followed by LF stays in the line.
public struct LineSplitter: Sendable {
    private var partial: [UInt8] = []

    public init() {}

    /// The lines this chunk completes, without their endings.
    public mutating func split(_ chunk: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = chunk.startIndex
        while let lf = chunk[start...].firstIndex(of: 0x0A) {
            var line = partial
            partial = []
            line.append(contentsOf: chunk[start..<lf])
            if line.last == 0x0D { line.removeLast() }
            lines.append(line)
            start = lf + 1
        }
        partial.append(contentsOf: chunk[start...])
        return lines
    }

    /// What followed the last line end: nil when the stream ended with one.
    public mutating func finish() -> [UInt8]? {
        defer { partial = [] }
        return partial.isEmpty ? nil : partial
    }
}
