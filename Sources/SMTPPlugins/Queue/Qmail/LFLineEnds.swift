import SMTPPluginAPI

/// A message's chunks with every line ended by LF alone: qmail stores messages with LF line ends,
/// and qmail-queue writes what it reads as it is. One output chunk per input chunk that completes
/// a line, so memory stays at a chunk plus one unfinished line.
struct LFLineEnds<Chunks: AsyncSequence & Sendable>: AsyncSequence, Sendable where Chunks.Element == [UInt8] {
    typealias Element = [UInt8]
    let chunks: Chunks

    init(_ chunks: Chunks) { self.chunks = chunks }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Chunks.AsyncIterator
        var splitter = LineSplitter()
        var finished = false

        mutating func next() async throws -> [UInt8]? {
            while !finished {
                guard let chunk = try await base.next() else {
                    finished = true
                    // SMTP data always ends in CRLF; should a last line lack one, qmail still wants it ended.
                    if let rest = splitter.finish(), !rest.isEmpty { return rest + [0x0A] }
                    return nil
                }
                let lines = splitter.split(chunk)
                guard !lines.isEmpty else { continue }
                var out: [UInt8] = []
                out.reserveCapacity(chunk.count + lines.count)
                for line in lines {
                    out += line
                    out.append(0x0A)
                }
                return out
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: chunks.makeAsyncIterator()) }
}
