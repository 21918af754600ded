import DNSWire
import Testing

/// A valid response with every section and compressed names in owner names and RDATA: the
/// prefix test cuts it at every length.
let nxDomainResponse: [UInt8] =
    header(id: 5, flags: responseFlags(rcode: 3), authorities: 1, additionals: 1)
    + name("nope", "example", "com") + question(type: 1)
    + pointer(17) + record(
        type: 6, ttl: 300,
        rdata: labels("ns1") + pointer(17) + labels("hostmaster") + pointer(17)
            + u32(1) + u32(2) + u32(3) + u32(4) + u32(5)
    )
    + opt(payload: 1232)

let cnameResponse: [UInt8] =
    header(id: 1, flags: responseFlags(), answers: 3)
    + name("www", "example", "com") + question(type: 1)
    + pointer(12) + record(type: 5, ttl: 60, rdata: labels("web") + pointer(16))
    + pointer(45) + record(type: 5, ttl: 60, rdata: name("host", "example", "net"))
    + pointer(63) + record(type: 1, ttl: 60, rdata: [198, 51, 100, 7])

/// A question-only message whose single question has the name `nameBytes`.
func queryNamed(_ nameBytes: [UInt8]) -> [UInt8] {
    header(id: 1, flags: 0x0100) + nameBytes + question(type: 1)
}

func decodeError(_ bytes: [UInt8]) -> DNSWireError? {
    do {
        _ = try DNSWire.decode(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite struct MalformedInputTests {
    // MARK: compression pointers

    @Test func pointerToItself() {
        #expect(decodeError(queryNamed(pointer(12))) == .badPointer)
        #expect(decodeError(queryNamed(labels("www") + pointer(12))) == .badPointer)
    }

    @Test func twoPointersPointingAtEachOther() {
        // Question 1's name (12) points at question 2's name (18), which points back at 12.
        let wire = header(id: 1, flags: 0x0100, questions: 2) + pointer(18) + question(type: 1) + pointer(12) + question(type: 1)
        #expect(decodeError(wire) == .badPointer)
    }

    @Test func forwardPointer() {
        // The name at 12 points at a valid name that comes later (the answer's owner, at 18).
        let wire =
            header(id: 1, flags: responseFlags(), answers: 1) + pointer(18) + question(type: 1)
            + name("example", "com") + record(type: 1, ttl: 1, rdata: [1, 2, 3, 4])
        #expect(decodeError(wire) == .badPointer)
    }

    @Test func pointerOutsideTheMessageOrIntoTheHeader() {
        let base = header(id: 1, flags: responseFlags(), answers: 1) + name("example", "com") + question(type: 1)
        #expect(decodeError(base + pointer(0x3FFF) + record(type: 1, ttl: 1, rdata: [1, 2, 3, 4])) == .badPointer)
        #expect(decodeError(base + pointer(2) + record(type: 1, ttl: 1, rdata: [1, 2, 3, 4])) == .badPointer)
        // Inside RDATA too.
        #expect(decodeError(base + pointer(12) + record(type: 5, ttl: 1, rdata: pointer(0x3FFF))) == .badPointer)
    }

    @Test func longPointerChainsHitTheHopLimit() throws {
        // An unknown-type record whose RDATA is a chain of pointers, each to the one before it,
        // the first to the root name at 12; then a record whose owner points at the chain's end.
        func message(hops: Int) -> [UInt8] {
            let chainStart = 12 + 5 + 1 + 10  // root question, root owner, fixed fields
            var chain = pointer(12)
            for index in 1..<hops { chain += pointer(chainStart + 2 * (index - 1)) }
            return header(id: 1, flags: responseFlags(), answers: 2) + [0] + question(type: 1)
                + [0] + record(type: 99, ttl: 1, rdata: chain)
                + pointer(chainStart + 2 * (hops - 1)) + record(type: 1, ttl: 1, rdata: [1, 2, 3, 4])
        }
        // 127 pointers from the owner: the last lands on the root, legal however odd.
        #expect(try DNSWire.decode(message(hops: 126)).answers.last?.name == "")
        #expect(decodeError(message(hops: 127)) == .pointerLoop)
        #expect(decodeError(message(hops: 5000)) == .pointerLoop)
    }

    // MARK: label and name lengths

    @Test func labelOf64Octets() {
        let label64 = [64] + [UInt8](repeating: UInt8(ascii: "a"), count: 64) + [0]
        #expect(decodeError(queryNamed(label64)) == .labelTooLong)
        // 63 is the largest label.
        #expect(decodeError(queryNamed([63] + [UInt8](repeating: UInt8(ascii: "a"), count: 63) + [0])) == nil)
        // The reserved label type 0x80.
        #expect(decodeError(queryNamed([0x80, 0])) == .labelTooLong)
    }

    @Test func nameOver255Octets() throws {
        let label63 = String(repeating: "a", count: 63)
        // 4 x 64 + 1 = 257 octets.
        #expect(decodeError(queryNamed(name(label63, label63, label63, label63))) == .nameTooLong)
        // 3 x 64 + 62 + 1 = 255 octets: the largest name.
        let largest = try DNSWire.decode(queryNamed(name(label63, label63, label63, String(repeating: "b", count: 61))))
        #expect(largest.questions.first?.name.utf8.count == 3 * 64 + 61)
        // Too long only once a pointer adds its suffix: 4 x 63-octet labels across two names.
        let twoNames =
            header(id: 1, flags: responseFlags(), answers: 1) + name(label63, label63) + question(type: 1)
            + labels(label63, label63) + pointer(12) + record(type: 1, ttl: 1, rdata: [1, 2, 3, 4])
        #expect(decodeError(twoNames) == .nameTooLong)
    }

    // MARK: lengths and counts

    @Test(arguments: [nxDomainResponse, cnameResponse])
    func everyPrefixOfAValidResponseIsTruncated(_ response: [UInt8]) throws {
        _ = try DNSWire.decode(response)
        for length in 0..<response.count {
            #expect(decodeError(Array(response.prefix(length))) == .truncated, "prefix of \(length) octets")
        }
    }

    @Test func headerCountsFarLargerThanTheData() {
        let wire = header(id: 1, flags: responseFlags(), questions: 0xFFFF, answers: 0xFFFF, authorities: 0xFFFF, additionals: 0xFFFF)
        #expect(decodeError(wire) == .truncated)
        #expect(decodeError(wire + [UInt8](repeating: 0, count: 1000)) == .truncated)
        // Counts one more than what is there.
        var oneMore = cnameResponse
        oneMore[7] += 1
        #expect(decodeError(oneMore) == .truncated)
    }

    @Test func trailingBytes() {
        #expect(decodeError(cnameResponse + [0]) == .trailingBytes)
    }

    @Test func oversizedMessage() {
        #expect(decodeError(cnameResponse + [UInt8](repeating: 0, count: 65536 - cnameResponse.count)) == .messageTooLarge)
    }

    @Test func twoOPTRecords() {
        let wire = header(id: 1, flags: responseFlags(), questions: 0, additionals: 2) + opt(payload: 1232) + opt(payload: 512)
        #expect(decodeError(wire) == .badRData(type: 41))
    }

    // MARK: RDATA lengths

    static let answerPrefix = header(id: 1, flags: responseFlags(), answers: 1) + name("example", "com") + question(type: 1) + pointer(12)

    @Test(arguments: [3, 5, 0, 16])
    func aOfTheWrongLength(_ length: Int) {
        let wire = Self.answerPrefix + record(type: 1, ttl: 1, rdata: [UInt8](repeating: 7, count: length))
        #expect(decodeError(wire) == .badRData(type: 1))
    }

    @Test(arguments: [15, 17, 4])
    func aaaaOfTheWrongLength(_ length: Int) {
        let wire = Self.answerPrefix + record(type: 28, ttl: 1, rdata: [UInt8](repeating: 7, count: length))
        #expect(decodeError(wire) == .badRData(type: 28))
    }

    @Test func mxTooShortOrTooLong() {
        let exchange = labels("mx") + pointer(12)
        for rdata in [u16(10), [0], u16(10) + labels("mx"), u16(10) + Array(exchange.dropLast()), [UInt8]()] {
            #expect(decodeError(Self.answerPrefix + record(type: 15, ttl: 1, rdata: rdata)) == .badRData(type: 15), "\(rdata)")
        }
        #expect(decodeError(Self.answerPrefix + record(type: 15, ttl: 1, rdata: u16(10) + exchange + [0])) == .badRData(type: 15))
        #expect(decodeError(Self.answerPrefix + record(type: 15, ttl: 1, rdata: u16(10) + exchange)) == nil)
    }

    @Test func soaTooShortOrTooLong() {
        let names = labels("ns1") + pointer(12) + labels("hostmaster") + pointer(12)
        let numbers = u32(1) + u32(2) + u32(3) + u32(4) + u32(5)
        #expect(decodeError(Self.answerPrefix + record(type: 6, ttl: 1, rdata: names + numbers)) == nil)
        #expect(decodeError(Self.answerPrefix + record(type: 6, ttl: 1, rdata: names + numbers.dropLast())) == .badRData(type: 6))
        #expect(decodeError(Self.answerPrefix + record(type: 6, ttl: 1, rdata: names + numbers + [0])) == .badRData(type: 6))
        #expect(decodeError(Self.answerPrefix + record(type: 6, ttl: 1, rdata: labels("ns1") + pointer(12))) == .badRData(type: 6))
    }

    @Test func txtStringRunningPastItsRData() {
        #expect(decodeError(Self.answerPrefix + record(type: 16, ttl: 1, rdata: [5, 1, 2])) == .badRData(type: 16))
    }

    @Test func nameRDataWithBytesLeftOver() {
        #expect(decodeError(Self.answerPrefix + record(type: 5, ttl: 1, rdata: pointer(12) + [0])) == .badRData(type: 5))
        #expect(decodeError(Self.answerPrefix + record(type: 12, ttl: 1, rdata: [])) == .badRData(type: 12))
    }

    @Test func rdLengthPastTheMessageEndIsTruncated() {
        let wire = Self.answerPrefix + u16(1) + u16(1) + u32(1) + u16(4) + [1, 2]
        #expect(decodeError(wire) == .truncated)
    }
}
