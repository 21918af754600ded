/// IPv4 addresses as dotted quads, both ways, without inet_ntop/inet_pton (no Glibc here).
enum IPv4Text {
    /// "192.0.2.1" from four octets (`address.count` must be 4).
    static func format(_ address: ArraySlice<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(15)
        appendDottedQuad(address, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    static func appendDottedQuad(_ address: ArraySlice<UInt8>, to text: inout [UInt8]) {
        var first = true
        for octet in address {
            if !first { text.append(UInt8(ascii: ".")) }
            first = false
            if octet >= 100 { text.append(UInt8(ascii: "0") + octet / 100) }
            if octet >= 10 { text.append(UInt8(ascii: "0") + octet / 10 % 10) }
            text.append(UInt8(ascii: "0") + octet % 10)
        }
    }

    /// Four octets from strict dotted-quad text: four decimal parts of 1–3 digits, each at most
    /// 255, no leading zeros (which some parsers read as octal). Nil when the text is anything else.
    static func parse(_ text: some Collection<UInt8>) -> [UInt8]? {
        var octets: [UInt8] = []
        octets.reserveCapacity(4)
        var value = 0
        var digits = 0
        var leadingZero = false
        for byte in text {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1 && leadingZero { return nil }
                if digits == 0 { leadingZero = byte == UInt8(ascii: "0") }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, value <= 255 else { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, octets.count < 3 else { return nil }
                octets.append(UInt8(value))
                value = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, octets.count == 3 else { return nil }
        octets.append(UInt8(value))
        return octets
    }
}
