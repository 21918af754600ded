import DNSWire
import Testing

func encodeError(_ message: DNSMessage) -> DNSWireError? {
    do {
        _ = try DNSWire.encode(message)
        return nil
    } catch {
        return error
    }
}

func queryError(_ name: String) -> DNSWireError? {
    do {
        _ = try DNSWire.query(id: 1, name: name, type: DNSType.a)
        return nil
    } catch {
        return error
    }
}

/// A message holding every kind of RDATA in every section, compressible names included.
let everyKind = DNSMessage(
    header: DNSHeader(id: 0x4242, isResponse: true, authoritative: true, recursionAvailable: true, rcode: 16 + DNSRCode.servFail),
    questions: [DNSQuestion(name: "example.com", type: DNSType.mx), DNSQuestion(name: "", type: 2, rrclass: 3)],
    answers: [
        DNSResourceRecord(name: "example.com", type: DNSType.a, ttl: 1, data: .a("192.0.2.1")),
        DNSResourceRecord(name: "example.com", type: DNSType.aaaa, ttl: 2, data: .aaaa("2001:db8::1:0:0:1")),
        DNSResourceRecord(name: "www.example.com", type: DNSType.cname, ttl: 3, data: .cname("example.com")),
        DNSResourceRecord(name: "1.2.0.192.in-addr.arpa", type: DNSType.ptr, ttl: 4, data: .ptr("mail.example.com")),
        DNSResourceRecord(name: "example.com", type: DNSType.ns, ttl: 5, data: .ns("ns1.example.net")),
        DNSResourceRecord(name: "example.com", type: DNSType.mx, ttl: 6, data: .mx(preference: 10, exchange: "mail.example.com")),
        DNSResourceRecord(name: "example.org", type: DNSType.mx, ttl: 7, data: .mx(preference: 0, exchange: "")),
        DNSResourceRecord(name: "example.com", type: DNSType.txt, ttl: 8, data: .txt(["v=spf1 -all", "", "caf\u{E9} \u{FFFD}"])),
        DNSResourceRecord(name: "example.com", type: DNSType.txt, ttl: 8, data: .txt([])),
        DNSResourceRecord(name: "example.com", type: 99, rrclass: 255, ttl: 9, data: .unknown([0, 1, 0xFF])),
        DNSResourceRecord(name: "d\u{FFFD}t.example.com", type: DNSType.aaaa, ttl: 10, data: .aaaa("::ffff:10.0.0.1")),
    ],
    authorities: [
        DNSResourceRecord(
            name: "example.com", type: DNSType.soa, ttl: 11,
            data: .soa(mname: "ns1.example.net", rname: "hostmaster.example.com", serial: .max, refresh: 0, retry: 1, expire: 2, minimum: 3)
        )
    ],
    additionals: [DNSResourceRecord(name: "ns1.example.net", type: DNSType.a, ttl: .max, data: .a("255.255.255.255"))],
    ednsPayloadSize: 1232
)

@Suite struct EncodeTests {
    @Test func queryBytes() throws {
        let expected: [UInt8] = [
            0x12, 0x34,  // id
            0x01, 0x00,  // flags: RD
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // 1 question, 1 additional (the OPT)
            7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x63, 0x6F, 0x6D, 0,  // example.com
            0x00, 0x01, 0x00, 0x01,  // type A, class IN
            0,  // OPT: root name
            0x00, 0x29,  // type 41
            0x04, 0xD0,  // payload 1232
            0x00, 0x00, 0x00, 0x00,  // extended rcode 0, version 0, flags 0
            0x00, 0x00,  // no options
        ]
        #expect(try DNSWire.query(id: 0x1234, name: "example.com", type: DNSType.a) == expected)
        #expect(try DNSWire.query(id: 0x1234, name: "example.com.", type: DNSType.a) == expected)
    }

    @Test func queryWithoutEDNS() throws {
        let expected: [UInt8] = [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + [2, 0x6D, 0x78, 0] + [0, 15, 0, 1]
        #expect(try DNSWire.query(id: 0xABCD, name: "mx", type: DNSType.mx, ednsPayloadSize: nil) == expected)
    }

    @Test func everyRDataKindRoundTrips() throws {
        let bytes = try DNSWire.encode(everyKind)
        #expect(try DNSWire.decode(bytes) == everyKind)
    }

    @Test func namesAreCompressedAgainstEarlierNames() throws {
        let message = DNSMessage(
            header: DNSHeader(id: 1, isResponse: true),
            questions: [DNSQuestion(name: "example.com", type: DNSType.mx)],
            answers: [DNSResourceRecord(name: "example.com", type: DNSType.mx, ttl: 60, data: .mx(preference: 5, exchange: "mx.example.com"))]
        )
        let expected =
            header(id: 1, flags: 0x8100, answers: 1) + name("example", "com") + question(type: 15)
            + pointer(12) + record(type: 15, ttl: 60, rdata: u16(5) + labels("mx") + pointer(12))
        #expect(try DNSWire.encode(message) == expected)
    }

    @Test func badNamesAreRefused() {
        #expect(queryError("a..b") == .emptyLabel)
        #expect(queryError(".a") == .emptyLabel)
        #expect(queryError("..") == .emptyLabel)
        #expect(queryError(String(repeating: "a", count: 64) + ".com") == .labelTooLong)
        #expect(queryError(String(repeating: "a", count: 63) + ".com") == nil)
        let label63 = String(repeating: "a", count: 63)
        #expect(queryError([label63, label63, label63, label63].joined(separator: ".")) == .nameTooLong)
        #expect(queryError([label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")) == nil)
        #expect(queryError("") == nil)
        #expect(queryError(".") == nil)
    }

    @Test func badRDataIsRefused() {
        func answer(_ type: UInt16, _ data: DNSRData) -> DNSMessage {
            DNSMessage(header: DNSHeader(id: 1), answers: [DNSResourceRecord(name: "x", type: type, ttl: 1, data: data)])
        }
        #expect(encodeError(answer(DNSType.a, .a("192.0.2.256"))) == .badRData(type: 1))
        #expect(encodeError(answer(DNSType.a, .a("example.com"))) == .badRData(type: 1))
        #expect(encodeError(answer(DNSType.aaaa, .aaaa("1::2::3"))) == .badRData(type: 28))
        #expect(encodeError(answer(DNSType.aaaa, .aaaa("192.0.2.1"))) == .badRData(type: 28))
        #expect(encodeError(answer(DNSType.mx, .a("192.0.2.1"))) == .badRData(type: 15))
        #expect(encodeError(answer(DNSType.txt, .txt([String(repeating: "x", count: 256)]))) == .badRData(type: 16))
        #expect(encodeError(answer(DNSType.txt, .txt([String(repeating: "x", count: 255)]))) == nil)
        #expect(encodeError(answer(DNSType.cname, .cname("a..b"))) == .emptyLabel)
        // Raw bytes go with any type, so a fake server can send a broken A record.
        #expect(encodeError(answer(DNSType.a, .unknown([1, 2, 3]))) == nil)
    }

    @Test func extendedRCodeNeedsEDNS() throws {
        var message = DNSMessage(header: DNSHeader(id: 1, isResponse: true, rcode: 16))
        #expect(encodeError(message) == .badRData(type: DNSType.opt))
        message.ednsPayloadSize = 512
        #expect(try DNSWire.decode(DNSWire.encode(message)).header.rcode == 16)
        message.header.rcode = 4096
        #expect(encodeError(message) == .badRData(type: DNSType.opt))
    }

    @Test func anOPTRecordAmongTheAdditionalsIsRefused() {
        let message = DNSMessage(
            header: DNSHeader(id: 1),
            additionals: [DNSResourceRecord(name: "", type: DNSType.opt, rrclass: 1232, ttl: 0, data: .unknown([]))]
        )
        #expect(encodeError(message) == .badRData(type: DNSType.opt))
    }

    @Test func oversizedMessagesAreRefused() {
        let big = DNSResourceRecord(name: "x", type: 99, ttl: 1, data: .unknown([UInt8](repeating: 0, count: 65000)))
        #expect(encodeError(DNSMessage(header: DNSHeader(id: 1), answers: [big])) == nil)
        #expect(encodeError(DNSMessage(header: DNSHeader(id: 1), answers: [big, big])) == .messageTooLarge)
        let huge = DNSResourceRecord(name: "x", type: 99, ttl: 1, data: .unknown([UInt8](repeating: 0, count: 65536)))
        #expect(encodeError(DNSMessage(header: DNSHeader(id: 1), answers: [huge])) == .messageTooLarge)
    }
}

/// The fuzz property's documented exception: repaired text can outgrow the limit it met on the wire.
@Suite struct RepairedTextTests {
    @Test func aLabelOfInvalidUTF8DecodesButCannotBeWrittenBack() throws {
        // 63 octets of 0xFF: a legal label, whose text is 63 U+FFFD, 189 octets of UTF-8.
        let wire = header(id: 1, flags: 0x0100) + [63] + [UInt8](repeating: 0xFF, count: 63) + [0] + question(type: 1)
        let message = try DNSWire.decode(wire)
        #expect(message.questions.first?.name == String(repeating: "\u{FFFD}", count: 63))
        #expect(encodeError(message) == .labelTooLong)
    }

    @Test func aDotByteInsideALabelWritesBackAsTheReplacementCharacter() throws {
        let wire = header(id: 1, flags: 0x0100) + name("a.b") + question(type: 1)
        let message = try DNSWire.decode(wire)
        let again = try DNSWire.decode(DNSWire.encode(message))
        #expect(again == message)
        #expect(again.questions.first?.name == "a\u{FFFD}b")
    }

    @Test func aTXTStringOfInvalidUTF8CanOutgrow255Octets() throws {
        let wire =
            header(id: 1, flags: responseFlags(), answers: 1) + [0] + question(type: 16)
            + pointer(12) + record(type: 16, ttl: 1, rdata: [200] + [UInt8](repeating: 0xC0, count: 200))
        let message = try DNSWire.decode(wire)
        #expect(message.answers.first?.data == .txt([String(repeating: "\u{FFFD}", count: 200)]))
        #expect(encodeError(message) == .badRData(type: 16))
    }
}
