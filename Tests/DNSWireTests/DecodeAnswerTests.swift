import DNSWire
import Testing

// Real-looking responses, assembled by hand. Offsets in the comments are from the message start;
// the header takes 0..<12, so the first question's name starts at 12.

@Suite struct DecodeAnswerTests {
    @Test func aAnswerWithCompressedOwnerName() throws {
        let wire =
            header(id: 0xBEEF, flags: responseFlags(), answers: 1, additionals: 1)
            + name("mail", "example", "com") + question(type: 1)  // name at 12..<30
            + pointer(12) + record(type: 1, ttl: 300, rdata: [192, 0, 2, 25])
            + opt(payload: 1232)
        let message = try DNSWire.decode(wire)
        #expect(
            message
                == DNSMessage(
                    header: DNSHeader(id: 0xBEEF, isResponse: true, recursionDesired: true, recursionAvailable: true),
                    questions: [DNSQuestion(name: "mail.example.com", type: DNSType.a)],
                    answers: [DNSResourceRecord(name: "mail.example.com", type: DNSType.a, ttl: 300, data: .a("192.0.2.25"))],
                    ednsPayloadSize: 1232
                ))
        // The encoder compresses the same way, so it gives back the same bytes.
        #expect(try DNSWire.encode(message) == wire)
    }

    @Test func cnameChainThenA() throws {
        let wire =
            header(id: 1, flags: responseFlags(), answers: 3)
            + name("www", "example", "com") + question(type: 1)  // www at 12, example at 16; ends at 33
            // 33: owner -> 12; RDATA at 45: "web" + pointer to example.com (16)
            + pointer(12) + record(type: 5, ttl: 60, rdata: labels("web") + pointer(16))
            // 51: owner -> 45 (web.example.com); RDATA at 63: host.example.net in full
            + pointer(45) + record(type: 5, ttl: 60, rdata: name("host", "example", "net"))
            // 81: owner -> 63 (host.example.net)
            + pointer(63) + record(type: 1, ttl: 60, rdata: [198, 51, 100, 7])
        #expect(wire.count == 97)
        let message = try DNSWire.decode(wire)
        #expect(
            message.answers == [
                DNSResourceRecord(name: "www.example.com", type: DNSType.cname, ttl: 60, data: .cname("web.example.com")),
                DNSResourceRecord(name: "web.example.com", type: DNSType.cname, ttl: 60, data: .cname("host.example.net")),
                DNSResourceRecord(name: "host.example.net", type: DNSType.a, ttl: 60, data: .a("198.51.100.7")),
            ])
        #expect(message.ednsPayloadSize == nil)
    }

    @Test func mxIncludingNullMX() throws {
        let wire =
            header(id: 2, flags: responseFlags(), answers: 2)
            + name("example", "org") + question(type: 15)  // name at 12; ends at 29
            + pointer(12) + record(type: 15, ttl: 3600, rdata: u16(10) + labels("MX1") + pointer(12))
            + pointer(12) + record(type: 15, ttl: 3600, rdata: u16(0) + [0])  // RFC 7505: "." at preference 0
        let message = try DNSWire.decode(wire)
        #expect(
            message.answers.map(\.data) == [
                .mx(preference: 10, exchange: "mx1.example.org"),
                .mx(preference: 0, exchange: ""),
            ])
    }

    @Test func txtKeepsEveryStringInOrder() throws {
        let rdata =
            [11] + Array("v=spf1 -all".utf8) + [0] + [13] + Array("second string".utf8)
            + [3, 0xFF, 0xFE, UInt8(ascii: "A")]  // two bytes that are not UTF-8
        let wire =
            header(id: 3, flags: responseFlags(), answers: 1)
            + name("example", "org") + question(type: 16)
            + pointer(12) + record(type: 16, ttl: 300, rdata: rdata)
        let message = try DNSWire.decode(wire)
        #expect(message.answers.map(\.data) == [.txt(["v=spf1 -all", "", "second string", "\u{FFFD}\u{FFFD}A"])])
    }

    @Test func ptr() throws {
        let wire =
            header(id: 4, flags: responseFlags(), answers: 1)
            + name("25", "2", "0", "192", "in-addr", "arpa") + question(type: 12)
            + pointer(12) + record(type: 12, ttl: 86400, rdata: name("Mail", "Example", "COM"))
        let message = try DNSWire.decode(wire)
        #expect(
            message.answers == [
                DNSResourceRecord(name: "25.2.0.192.in-addr.arpa", type: DNSType.ptr, ttl: 86400, data: .ptr("mail.example.com"))
            ])
    }

    @Test func nxDomainWithSOAInAuthority() throws {
        let wire =
            header(id: 5, flags: responseFlags(rcode: 3), authorities: 1, additionals: 1)
            + name("nope", "example", "com") + question(type: 1)  // nope at 12, example at 17; ends at 34
            + pointer(17) + record(
                type: 6, ttl: 300,
                rdata: labels("ns1") + pointer(17) + labels("hostmaster") + pointer(17)
                    + u32(2_024_010_101) + u32(7200) + u32(3600) + u32(1_209_600) + u32(300)
            )
            + opt(payload: 1232)
        let message = try DNSWire.decode(wire)
        #expect(message.header.rcode == DNSRCode.nxDomain)
        #expect(message.answers.isEmpty)
        #expect(
            message.authorities == [
                DNSResourceRecord(
                    name: "example.com", type: DNSType.soa, ttl: 300,
                    data: .soa(
                        mname: "ns1.example.com", rname: "hostmaster.example.com", serial: 2_024_010_101,
                        refresh: 7200, retry: 3600, expire: 1_209_600, minimum: 300
                    )
                )
            ])
        #expect(message.additionals.isEmpty)
        #expect(message.ednsPayloadSize == 1232)
    }

    @Test func optExtendedRCodeIsMergedIntoTheHeaderRCode() throws {
        // BADVERS (16): header bits 0, OPT TTL's top octet 1 (RFC 6891 §6.1.3).
        let wire = header(id: 6, flags: responseFlags(), questions: 0, additionals: 1) + opt(payload: 4096, ttl: 0x0100_0000)
        let message = try DNSWire.decode(wire)
        #expect(message.header.rcode == 16)
        #expect(message.ednsPayloadSize == 4096)
        #expect(message.additionals.isEmpty)
    }

    @Test func optIsTakenOutOfTheAdditionalsOnly() throws {
        let glue = name("ns1", "example", "com") + record(type: 1, ttl: 60, rdata: [192, 0, 2, 53])
        let wire = header(id: 7, flags: responseFlags(), questions: 0, additionals: 2) + glue + opt(payload: 1232)
        let message = try DNSWire.decode(wire)
        #expect(message.additionals == [DNSResourceRecord(name: "ns1.example.com", type: 1, ttl: 60, data: .a("192.0.2.53"))])
        #expect(message.ednsPayloadSize == 1232)

        // In the answer section an OPT is no pseudo-record: it stays, as raw data.
        let inAnswers = header(id: 7, flags: responseFlags(), questions: 0, answers: 1) + opt(payload: 1232)
        #expect(try DNSWire.decode(inAnswers).answers == [DNSResourceRecord(name: "", type: 41, rrclass: 1232, ttl: 0, data: .unknown([]))])
    }

    @Test func unknownTypesKeepTheirRawRData() throws {
        let wire =
            header(id: 8, flags: responseFlags(), answers: 1)
            + name("example", "com") + question(type: 99)
            + pointer(12) + record(type: 99, rrclass: 3, ttl: 1, rdata: [1, 2, 3, 0xC0, 12])
        #expect(try DNSWire.decode(wire).answers.map(\.data) == [.unknown([1, 2, 3, 0xC0, 12])])
    }

    @Test func namesAreLowerCasedInASCIIOnly() throws {
        let wire = header(id: 9, flags: 0x0100) + name("MAIL", "Ex\u{C9}mple", "COM") + question(type: 1)
        #expect(try DNSWire.decode(wire).questions.map(\.name) == ["mail.ex\u{C9}mple.com"])
    }

    @Test func aDotByteInsideALabelIsNotALabelBoundary() throws {
        // One label "a.b": written as text it must not read as the two labels a and b.
        let wire = header(id: 10, flags: 0x0100) + name("a.b", "example") + question(type: 1)
        let decoded = try DNSWire.decode(wire)
        #expect(decoded.questions.map(\.name) == ["a\u{FFFD}b.example"])
        #expect(decoded.questions.map(\.name) != ["a.b.example"])
    }

    @Test func headerFlagsAreRead() throws {
        // QR, opcode 2, AA, TC, RD clear, RA clear, rcode 5.
        let wire = header(id: 0xFFFF, flags: 0x8000 | 2 << 11 | 0x0400 | 0x0200 | 5, questions: 0)
        #expect(
            try DNSWire.decode(wire).header
                == DNSHeader(
                    id: 0xFFFF, isResponse: true, opcode: 2, authoritative: true, truncated: true,
                    recursionDesired: false, recursionAvailable: false, rcode: DNSRCode.refused
                ))
    }
}
