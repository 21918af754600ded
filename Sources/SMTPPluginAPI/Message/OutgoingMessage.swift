/// A message as it leaves us for a backend, in chunks: the header as plugins left it (when given;
/// otherwise the spooled one), then the spooled body. Line ends are CRLF, as the session spooled
/// them. Nothing is held whole: the body is read chunk by chunk through the spool reader.
/// As `MessageWriter` does, a replacement header is followed by a blank line when the body starts
/// with text (the client's header ended at a line that was not a field): without it that line
/// could read as part of the last field.
public struct OutgoingMessage: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let message: SpooledMessage
    let header: MessageHeader?
    let reader: any SpoolReader
    let chunkSize: Int

    public init(_ message: SpooledMessage, header: MessageHeader?, reader: any SpoolReader, chunkSize: Int = 65_536) {
        self.message = message
        self.header = header
        self.reader = reader
        self.chunkSize = chunkSize
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var headerBytes: [UInt8]?
        var spooled: SpoolChunks.AsyncIterator
        /// A replacement header went out and the body's first byte has not been seen yet.
        var checkSeparator: Bool

        public mutating func next() async throws -> [UInt8]? {
            if let bytes = headerBytes {
                headerBytes = nil
                if !bytes.isEmpty { return bytes }
            }
            guard let chunk = try await spooled.next() else { return nil }
            guard checkSeparator else { return chunk }
            checkSeparator = false
            return chunk.first == 0x0D || chunk.first == 0x0A ? chunk : [0x0D, 0x0A] + chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        // With a replacement header the spooled one is skipped: the body starts at the empty line
        // that ended the header block, which the spooled bytes still carry.
        let start = header == nil ? 0 : message.bodyOffset
        return AsyncIterator(
            headerBytes: header.map { Array($0.serialized().utf8) },
            spooled: reader.chunks(of: message, from: start, chunkSize: chunkSize).makeAsyncIterator(),
            checkSeparator: header != nil)
    }
}
