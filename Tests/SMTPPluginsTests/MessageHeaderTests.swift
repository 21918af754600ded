import SMTPPluginAPI
import Testing

@Suite struct MessageHeaderTests {
    private func parse(_ text: String, complete: Bool = true) -> MessageHeader.ParseResult? {
        MessageHeader.parse(Array(text.utf8), isComplete: complete)
    }

    @Test func foldedFields() throws {
        let text = "Subject: one\r\n\ttwo\r\n  three\r\nFrom: a@example.org\r\n\r\nbody\r\n"
        let result = try #require(parse(text))
        #expect(result.header.fields.map(\.name) == ["Subject", "From"])
        #expect(result.header.fields[0].rawValue == " one\r\n\ttwo\r\n  three")
        #expect(result.header.value(of: "subject") == "one\ttwo  three")
        #expect(result.bodyOffset == text.utf8.count - "\r\nbody\r\n".utf8.count)
        #expect(result.header.serialized(lineEnding: "\n") == "Subject: one\n\ttwo\n  three\nFrom: a@example.org\n")
    }

    @Test func nonHeaderLineEndsTheHeader() throws {
        let result = try #require(parse("Subject: x\r\nthis is body\r\nTo: y\r\n"))
        #expect(result.header.fields.map(\.name) == ["Subject"])
        #expect(result.bodyOffset == 12)
    }

    @Test(arguments: ["Bad Name: x\r\n", ": no name\r\n", " leading continuation\r\n", "no colon\r\n"])
    func firstLineNotAField(text: String) throws {
        let result = try #require(parse(text + "\r\nbody"))
        #expect(result.header.fields.isEmpty)
        #expect(result.bodyOffset == 0)
    }

    @Test func emptyMessage() throws {
        let result = try #require(parse(""))
        #expect(result.header.fields.isEmpty)
        #expect(result.bodyOffset == 0)
        #expect(parse("", complete: false) == nil)
    }

    @Test func noBlankLine() throws {
        let text = "Subject: x\r\nTo: y\r\n"
        let result = try #require(parse(text))
        #expect(result.header.fields.count == 2)
        #expect(result.bodyOffset == text.utf8.count)
        let unterminated = try #require(parse("Subject: x\r\nTo: y"))
        #expect(unterminated.header.value(of: "to") == "y")
        #expect(unterminated.bodyOffset == 17)
    }

    @Test func incompleteWaitsForTheBlankLine() throws {
        #expect(parse("Subject: x\r\n", complete: false) == nil)
        #expect(parse("Subject: x\r\nTo: y", complete: false) == nil)
        let result = try #require(parse("Subject: x\r\n\r\n", complete: false))
        #expect(result.header.fields.count == 1)
        #expect(result.bodyOffset == 12)
        // A non-header line ends it as well, without waiting.
        #expect(parse("Subject: x\r\nbody\r\n", complete: false)?.bodyOffset == 12)
    }

    @Test func editing() {
        var header = MessageHeader()
        header.append("X-Test", "a")
        header.prepend("Received", "from a\nby b")
        header.append("x-test", "b")
        #expect(header.all(named: "X-TEST").count == 2)
        header.rename("x-test", to: "X-Old")
        #expect(header.serialized() == "Received: from a\r\nby b\r\nX-Old: a\r\nX-Old: b\r\n")
        header.remove(named: "x-old")
        #expect(header.fields.count == 1)
    }
}
