/// Writes a message as queue backends want it: the header block, then the body from the spool,
/// with every line ended the chosen way (qmail-queue and Maildir want LF, SMTP wants CRLF).
///
/// `MessageHeader.parse` leaves the body starting at the blank line that separated it, or at the
/// first line that was not a header field. In the second case the writer puts a blank line in
/// front of it, so that line is not read as part of the header once the header is written out.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum MessageWriter {
    public enum LineEnding: Sendable {
        case lf, crlf

        public var string: String { self == .lf ? "\n" : "\r\n" }
        var bytes: [UInt8] { self == .lf ? [0x0A] : [0x0D, 0x0A] }
    }

    /// Hands `header`, then the body of `message` from its `bodyOffset`, to `sink` in chunks.
    /// Line ends in the body (CRLF or a bare LF) become `lineEnding`; a lone CR is kept.
    public static func write(
        header: MessageHeader,
        body message: SpooledMessage?,
        lineEnding: LineEnding,
        to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try Array(header.serialized(lineEnding: lineEnding.string).utf8).withUnsafeBytes { try sink($0) }

        var converter = BodyConverter(ending: lineEnding.bytes)
        var out: [UInt8] = []
        if let message {
            try message.read(from: message.bodyOffset) { chunk in
                out.removeAll(keepingCapacity: true)
                out.reserveCapacity(chunk.count + chunk.count / 32 + 2)
                converter.convert(chunk, into: &out)
                try out.withUnsafeBytes { try sink($0) }
            }
        }
        out.removeAll(keepingCapacity: true)
        converter.finish(into: &out)
        if !out.isEmpty { try out.withUnsafeBytes { try sink($0) } }
    }

    /// The whole message as bytes; for small messages and tests.
    public static func bytes(header: MessageHeader, body: SpooledMessage?, lineEnding: LineEnding) throws -> [UInt8] {
        var out: [UInt8] = []
        try write(header: header, body: body, lineEnding: lineEnding) { out.append(contentsOf: $0) }
        return out
    }

    /// Rewrites line ends a line at a time (memchr finds them), remembering a CR that may be half
    /// of a CRLF split across chunks, and whether the body has started with its blank separator line.
    private struct BodyConverter {
        let ending: [UInt8]
        var atBodyStart = true
        var pendingCR = false

        mutating func convert(_ chunk: UnsafeRawBufferPointer, into out: inout [UInt8]) {
            guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
            var start = 0
            if pendingCR {
                pendingCR = false
                if chunk[0] == 0x0A {
                    lineBreak(into: &out)
                    start = 1
                } else {
                    appendCR(into: &out)
                }
            }
            while start < chunk.count {
                if let found = memchr(base + start, 0x0A, chunk.count - start) {
                    let lf = base.distance(to: UnsafeRawPointer(found))
                    var end = lf
                    if end > start && chunk[end - 1] == 0x0D { end -= 1 }
                    content(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), into: &out)
                    lineBreak(into: &out)
                    start = lf + 1
                } else {
                    var end = chunk.count
                    if chunk[end - 1] == 0x0D {
                        end -= 1
                        pendingCR = true
                    }
                    content(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), into: &out)
                    start = chunk.count
                }
            }
        }

        mutating func finish(into out: inout [UInt8]) {
            if pendingCR {
                pendingCR = false
                appendCR(into: &out)
            }
            // A message with no body still gets the line that ends its header block.
            if atBodyStart {
                atBodyStart = false
                out += ending
            }
        }

        private mutating func lineBreak(into out: inout [UInt8]) {
            atBodyStart = false
            out += ending
        }

        /// A CR that turned out not to start a CRLF is text.
        private mutating func appendCR(into out: inout [UInt8]) {
            startBodyIfNeeded(into: &out)
            out.append(0x0D)
        }

        private mutating func content(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
            guard !bytes.isEmpty else { return }
            startBodyIfNeeded(into: &out)
            out.append(contentsOf: bytes)
        }

        /// The body begins with text, not the separator line: supply the separator.
        private mutating func startBodyIfNeeded(into out: inout [UInt8]) {
            if atBodyStart {
                atBodyStart = false
                out += ending
            }
        }
    }
}
