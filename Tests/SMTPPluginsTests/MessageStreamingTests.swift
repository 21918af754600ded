import SMTPPluginAPI
import Testing

@Suite struct MessageStreamingTests {
    private func stuff(_ chunks: [String]) -> String {
        var stuffer = DotStuffer()
        var out: [UInt8] = []
        for chunk in chunks { out += stuffer.stuff(Array(chunk.utf8)) }
        out += stuffer.finish()
        return String(decoding: out, as: UTF8.self)
    }

    @Test func stuffsLeadingDotsEvenAcrossChunks() {
        #expect(stuff([".a\r\nb.\r\n..c\r\n"]) == "..a\r\nb.\r\n...c\r\n.\r\n")
        #expect(stuff(["x\r\n", ".\r\n"]) == "x\r\n..\r\n.\r\n")
        #expect(stuff(["x\r", "\n", ".y\r\n"]) == "x\r\n..y\r\n.\r\n")
    }

    @Test func finishAddsTheMissingLineEnd() {
        #expect(stuff(["no end"]) == "no end\r\n.\r\n")
        #expect(stuff([]) == ".\r\n")
        #expect(stuff(["", ""]) == ".\r\n")
    }

    @Test func splitsLinesAcrossChunks() {
        var splitter = LineSplitter()
        #expect(splitter.split(Array("one\r\ntw".utf8)) == [Array("one".utf8)])
        #expect(splitter.split(Array("o\r".utf8)) == [])
        #expect(splitter.split(Array("\nbare\nlone\rcr\n".utf8)) == [Array("two".utf8), Array("bare".utf8), Array("lone\rcr".utf8)])
        #expect(splitter.split(Array("tail".utf8)) == [])
        #expect(splitter.finish() == Array("tail".utf8))
        #expect(splitter.finish() == nil)
    }

    @Test func emptyLinesSurvive() {
        var splitter = LineSplitter()
        #expect(splitter.split(Array("\r\n\n".utf8)) == [[], []])
        #expect(splitter.finish() == nil)
    }

    /// Spooled chunks only (no replacement header): none empty, none past the chunk size.
    private func collect(_ message: OutgoingMessage) async throws -> String {
        var out: [UInt8] = []
        for try await chunk in message {
            #expect(!chunk.isEmpty)
            #expect(chunk.count <= 7)
            out += chunk
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [16, 1 << 20])
    func outgoingMessageUsesTheChangedHeaderThenTheBody(memoryThreshold: Int) async throws {
        let text = "Subject: old\r\nFrom: a@example.org\r\n\r\nbody line\r\n.dot\r\n"
        var (header, spool) = try Fixture.message(text, memoryThreshold: memoryThreshold)
        let reader = BlockingSpoolReader(blocking: InlineBlockingWorkRunner())
        #expect(try await collectAll(OutgoingMessage(spool, header: nil, reader: reader, chunkSize: 7)) == text)
        header.prepend("X-Added", "yes")
        header.remove(named: "Subject")
        let changed = try await collectAll(OutgoingMessage(spool, header: header, reader: reader, chunkSize: 7))
        #expect(changed == "X-Added: yes\r\nFrom: a@example.org\r\n\r\nbody line\r\n.dot\r\n")
        #expect(try await collect(OutgoingMessage(spool, header: nil, reader: reader, chunkSize: 7)) == text)
    }

    private func collectAll(_ message: OutgoingMessage) async throws -> String {
        var out: [UInt8] = []
        for try await chunk in message { out += chunk }
        return String(decoding: out, as: UTF8.self)
    }
}
