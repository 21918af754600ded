/// A program's input as chunks produced on demand (an `OutgoingMessage`, say), so a large input is
/// never whole in memory: the runner asks for the next chunk only when the program took the last.
///
/// Type-erased so `ProgramInvocation` can name it; it can be iterated once per `makeAsyncIterator`
/// like the sequence it wraps. Two streams are equal only when they are the same stream.
public struct ProgramInputStream: AsyncSequence, Sendable, Hashable {
    public typealias Element = [UInt8]

    private final class Source: Sendable {
        let open: @Sendable () -> AsyncIterator
        init(open: @escaping @Sendable () -> AsyncIterator) { self.open = open }
    }

    private let source: Source

    public init<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks) where Chunks.Element == [UInt8] {
        source = Source {
            var iterator = chunks.makeAsyncIterator()
            return AsyncIterator { try await iterator.next() }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: () async throws -> [UInt8]?

        public mutating func next() async throws -> [UInt8]? {
            try await nextChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        source.open()
    }

    public static func == (lhs: ProgramInputStream, rhs: ProgramInputStream) -> Bool {
        lhs.source === rhs.source
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(source))
    }
}
