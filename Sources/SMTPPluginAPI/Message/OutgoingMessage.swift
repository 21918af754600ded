/// A message as it leaves us for a backend, in chunks: the header as plugins left it (when given;
/// otherwise the spooled one), then the spooled body. Line ends are CRLF, as the session spooled
/// them. Nothing is held whole: the body is read chunk by chunk through the spool reader.
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

        public mutating func next() async throws -> [UInt8]? {
            if let bytes = headerBytes {
                headerBytes = nil
                if !bytes.isEmpty { return bytes }
            }
            return try await spooled.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        // With a replacement header the spooled one is skipped: the body starts at the empty line
        // that ended the header block, which the spooled bytes still carry.
        let start = header == nil ? 0 : message.bodyOffset
        return AsyncIterator(
            headerBytes: header.map { Array($0.serialized().utf8) },
            spooled: reader.chunks(of: message, from: start, chunkSize: chunkSize).makeAsyncIterator())
    }
}
