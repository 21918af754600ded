/// Reads a spooled message without blocking the calling task's thread: a message on disk is read
/// on a thread meant for blocking work (or with non-blocking file I/O); which, the protocol hides.
public protocol SpoolReader: Sendable {
    /// Reads up to `maxCount` bytes at `offset`; empty at the end of the message.
    func read(_ message: SpooledMessage, at offset: Int, maxCount: Int) async throws -> [UInt8]
}

extension SpoolReader {
    /// The message from `offset` in chunks of at most `chunkSize` bytes.
    public func chunks(of message: SpooledMessage, from offset: Int = 0, chunkSize: Int = 65_536) -> SpoolChunks {
        SpoolChunks(reader: self, message: message, offset: offset, chunkSize: chunkSize)
    }

    /// The body: everything after the header block (from the empty line that ends it).
    public func body(of message: SpooledMessage, chunkSize: Int = 65_536) -> SpoolChunks {
        chunks(of: message, from: message.bodyOffset, chunkSize: chunkSize)
    }
}

/// A spooled message as an `AsyncSequence` of byte chunks.
public struct SpoolChunks: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let reader: any SpoolReader
    let message: SpooledMessage
    let offset: Int
    let chunkSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: any SpoolReader
        let message: SpooledMessage
        var position: Int
        let chunkSize: Int
        var finished = false

        public mutating func next() async throws -> [UInt8]? {
            guard !finished else { return nil }
            let chunk = try await reader.read(message, at: position, maxCount: chunkSize)
            guard !chunk.isEmpty else {
                finished = true
                return nil
            }
            position += chunk.count
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, message: message, position: offset, chunkSize: Swift.max(1, chunkSize))
    }
}

/// Reads a message in memory in place and a message on disk through `blocking` (the engine's
/// thread pool), one chunk per job, so no cooperative thread waits on the disk.
public struct BlockingSpoolReader: SpoolReader {
    let blocking: any BlockingWorkRunner

    public init(blocking: any BlockingWorkRunner) {
        self.blocking = blocking
    }

    public func read(_ message: SpooledMessage, at offset: Int, maxCount: Int) async throws -> [UInt8] {
        if message.isInMemory {
            return try message.chunk(at: offset, maxCount: maxCount)
        }
        return try await blocking.run { try message.chunk(at: offset, maxCount: maxCount) }
    }
}
