import NIOCore

/// Cuts the bytes a server wrote into whole (multi-line) replies, however the writes split them.
struct ReplyReader {
    private var buffer = ByteBuffer()

    var isEmpty: Bool { buffer.readableBytes == 0 }

    mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete reply, or nil until more bytes arrive; nothing is consumed in that case.
    mutating func next() throws -> ClientReply? {
        var cursor = buffer
        var lines: [String] = []
        while let lf = cursor.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            var line = cursor.readString(length: lf - cursor.readerIndex)!
            cursor.moveReaderIndex(forwardBy: 1)
            if line.hasSuffix("\r") { line.removeLast() }
            guard line.utf8.count >= 3, let code = Int(line.prefix(3)) else { throw ClientError.malformed(line) }
            let separator = line.dropFirst(3).first
            lines.append(String(line.dropFirst(4)))
            if separator != "-" {
                buffer = cursor
                return ClientReply(code: code, lines: lines)
            }
        }
        return nil
    }
}
