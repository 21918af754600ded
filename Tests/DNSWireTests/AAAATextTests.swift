@testable import DNSWire
import Testing

struct AAAAVector: Sendable, CustomTestStringConvertible {
    var groups: [UInt16]
    var text: String
    var testDescription: String { text }
    var octets: [UInt8] { groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
}

/// RFC 5952 §4 text for eight groups.
let aaaaVectors: [AAAAVector] = [
    .init(groups: [0, 0, 0, 0, 0, 0, 0, 1], text: "::1"),
    .init(groups: [0, 0, 0, 0, 0, 0, 0, 0], text: "::"),
    .init(groups: [0x2001, 0xDB8, 0, 0, 0, 0, 0, 1], text: "2001:db8::1"),
    // Two runs of two: the first is compressed (§4.2.3).
    .init(groups: [0x2001, 0xDB8, 0, 0, 1, 0, 0, 1], text: "2001:db8::1:0:0:1"),
    // The longer run wins even when it comes second.
    .init(groups: [0x2001, 0, 0, 1, 0, 0, 0, 1], text: "2001:0:0:1::1"),
    // A single zero group is never "::" (§4.2.2).
    .init(groups: [0x2001, 0xDB8, 0, 1, 1, 1, 1, 1], text: "2001:db8:0:1:1:1:1:1"),
    // Lower-case, no leading zeros (§4.1, §4.3).
    .init(groups: [0xFE80, 0, 0, 0, 0x0ABC, 0xDEF0, 0x000F, 0x00A0], text: "fe80::abc:def0:f:a0"),
    .init(groups: [1, 0, 0, 0, 0, 0, 0, 0], text: "1::"),
    .init(groups: [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF], text: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    // IPv4-mapped in mixed notation (§5), as inet_ntop writes it.
    .init(groups: [0, 0, 0, 0, 0, 0xFFFF, 0xC000, 0x0201], text: "::ffff:192.0.2.1"),
    // ...but not other addresses whose first groups are zero.
    .init(groups: [0, 0, 0, 0, 0, 0, 0xC000, 0x0201], text: "::c000:201"),
]

@Suite struct AAAATextTests {
    @Test(arguments: aaaaVectors)
    func formatted(_ vector: AAAAVector) {
        #expect(IPv6Text.format(vector.octets[...]) == vector.text)
    }

    @Test(arguments: aaaaVectors)
    func parsedBack(_ vector: AAAAVector) {
        #expect(IPv6Text.parse(vector.text) == vector.octets)
    }

    @Test func aaaaRecordsAreDecodedToRFC5952Text() throws {
        let addresses = [aaaaVectors[0], aaaaVectors[2], aaaaVectors[3], aaaaVectors[5]]
        var wire = header(id: 1, flags: responseFlags(), answers: addresses.count) + name("example", "com") + question(type: 28)
        for address in addresses { wire += pointer(12) + record(type: 28, ttl: 300, rdata: address.octets) }
        let texts = try DNSWire.decode(wire).answers.map(\.data)
        #expect(texts == [.aaaa("::1"), .aaaa("2001:db8::1"), .aaaa("2001:db8::1:0:0:1"), .aaaa("2001:db8:0:1:1:1:1:1")])
    }

    @Test(arguments: [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8::0001", "2001:db8::1"),
        ("2001:db8::1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:0:1::1", "2001:db8::1:0:0:1"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("::192.0.2.1", "::c000:201"),
        ("::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
    ])
    func otherSpellingsParseToTheSameAddress(_ text: String, _ canonical: String) throws {
        let octets = try #require(IPv6Text.parse(text))
        #expect(IPv6Text.format(octets[...]) == canonical)
    }

    @Test(arguments: [
        "", ":", ":::", "1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::", "1:", "1::2:", "12345::",
        "g::", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "::1.2.3.4:5", "1:2:3:4:5:6:7:8::", "fe80::1%eth0", " ::1",
    ])
    func malformedTextIsRefused(_ text: String) {
        #expect(IPv6Text.parse(text) == nil)
    }

    @Test(arguments: ["0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.0.10"])
    func ipv4RoundTrips(_ text: String) throws {
        let octets = try #require(IPv4Text.parse(text.utf8))
        #expect(IPv4Text.format(octets[...]) == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1..2.3", "1.2.3.4.", "a.b.c.d", "1.2.3.-4", "1234.1.1.1"])
    func malformedIPv4IsRefused(_ text: String) {
        #expect(IPv4Text.parse(text.utf8) == nil)
    }
}
