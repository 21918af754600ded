import Testing

@testable import SMTPPlugins

@Suite struct PostfixCodecTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: attribute lists

    @Test func attributeListEncoding() {
        #expect(PostfixAttributeList(["flags": "4"]).encoded() == bytes("flags\u{0}4\u{0}\u{0}"))
        #expect(PostfixAttributeList(["status": "0", "reason": ""]).encoded() == bytes("status\u{0}0\u{0}reason\u{0}\u{0}\u{0}"))
        #expect(PostfixAttributeList().encoded() == [0])
    }

    /// Postfix 3.7's greeting, as its cleanup sends it, fed in pieces; the answer that follows
    /// in the same read stays for the next call.
    @Test func attributeListDecodingAcrossReadsWithLeftover() throws {
        let wire = bytes("protocol\u{0}cleanup_protocol\u{0}queue_id\u{0}4ABCD12EF\u{0}\u{0}status\u{0}4\u{0}reason\u{0}\u{0}\u{0}")
        var decoder = PostfixAttributeListDecoder()
        for split in [1, 9, 17, 30] {
            decoder = PostfixAttributeListDecoder()
            decoder.feed(Array(wire[..<split]))
            #expect(try decoder.next() == nil)
            decoder.feed(Array(wire[split...]))
            let greeting = try #require(try decoder.next())
            #expect(greeting == PostfixAttributeList(["protocol": "cleanup_protocol", "queue_id": "4ABCD12EF"]))
            let answer = try #require(try decoder.next())
            #expect(answer["status"] == "4")
            #expect(answer["reason"] == "")
            #expect(try decoder.next() == nil)
            #expect(decoder.pending == 0)
        }
    }

    @Test func emptyListAndEmptyValues() throws {
        var decoder = PostfixAttributeListDecoder()
        decoder.feed([0, 0x61, 0, 0, 0])
        #expect(try decoder.next() == PostfixAttributeList())
        #expect(try decoder.next() == PostfixAttributeList(["a": ""]))
    }

    @Test func endlessListIsRefused() {
        var decoder = PostfixAttributeListDecoder(maximumSize: 16)
        decoder.feed(bytes("name\u{0}" + String(repeating: "v", count: 20)))
        #expect(throws: PostfixAttributeListDecoder.TooLong.self) { try decoder.next() }
    }

    // MARK: record lengths

    @Test(arguments: [
        (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
        (16383, [0xFF, 0x7F]), (16384, [0x80, 0x80, 0x01]), (2_097_151, [0xFF, 0xFF, 0x7F]), (2_097_152, [0x80, 0x80, 0x80, 0x01]),
    ] as [(Int, [UInt8])])
    func lengthIsLittleEndianBase128(length: Int, expected: [UInt8]) throws {
        #expect(PostfixRecord.encodedLength(length) == expected)
        var out: [UInt8] = []
        let data = [UInt8](repeating: 0x41, count: length)
        PostfixRecord.append(.normal, data, to: &out)
        #expect(out.count == 1 + expected.count + length)
        #expect(Array(out.prefix(1 + expected.count)) == [0x4E] + expected)
        let records = try #require(PostfixRecord.decode(out))
        #expect(records.count == 1 && records[0].type == 0x4E && records[0].data == data)
    }

    @Test func envelopeRecords() {
        var out: [UInt8] = []
        PostfixRecord.append(.time, bytes("1767225600 0"), to: &out)
        PostfixRecord.append(.sender, [], to: &out)
        PostfixRecord.append(.recipient, bytes("a@b"), to: &out)
        PostfixRecord.append(.messageStart, [], to: &out)
        PostfixRecord.append(.extracted, [], to: &out)
        PostfixRecord.append(.end, [], to: &out)
        #expect(out == bytes("T\u{0C}1767225600 0S\u{0}R\u{3}a@bM\u{0}X\u{0}E\u{0}"))
    }

    @Test func truncatedRecordsDoNotDecode() {
        #expect(PostfixRecord.decode([0x4E, 0x05, 0x41]) == nil)
        #expect(PostfixRecord.decode([0x4E, 0x80]) == nil)
        #expect(PostfixRecord.decode([0x4E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) == nil)
    }

    // MARK: long lines

    /// (line length, the records' types and lengths): pieces of 2048 as `L`, the rest as `N`.
    @Test(arguments: [
        (0, [("N", 0)]), (5, [("N", 5)]), (2047, [("N", 2047)]), (2048, [("N", 2048)]),
        (2049, [("L", 2048), ("N", 1)]), (4096, [("L", 2048), ("N", 2048)]),
        (6145, [("L", 2048), ("L", 2048), ("L", 2048), ("N", 1)]),
    ] as [(Int, [(String, Int)])])
    func longLinesAreSplitIntoContinuationRecords(length: Int, expected: [(String, Int)]) throws {
        let line = (0..<length).map { UInt8(0x30 + $0 % 10) }
        var out: [UInt8] = []
        PostfixRecord.appendLine(line, to: &out)
        let records = try #require(PostfixRecord.decode(out))
        #expect(records.map { String(UnicodeScalar($0.type)) } == expected.map(\.0))
        #expect(records.map(\.data.count) == expected.map(\.1))
        #expect(records.flatMap(\.data) == line)
    }
}
