/// IPv6 addresses as RFC 5952 text, both ways, without inet_ntop/inet_pton (no Glibc here).
enum IPv6Text {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or more zero
    /// groups (the first of equal runs) as "::". §5: an IPv4-mapped address (::ffff:0:0/96) in
    /// mixed notation, "::ffff:192.0.2.1", as inet_ntop writes it too.
    /// `address.count` must be 16.
    static func format(_ address: ArraySlice<UInt8>) -> String {
        let start = address.startIndex
        var group = [Int](repeating: 0, count: 8)
        for index in 0..<8 {
            group[index] = Int(address[start + 2 * index]) << 8 | Int(address[start + 2 * index + 1])
        }
        var text: [UInt8] = []
        text.reserveCapacity(39)
        if group[0...4].allSatisfy({ $0 == 0 }) && group[5] == 0xFFFF {
            text.append(contentsOf: "::ffff:".utf8)
            IPv4Text.appendDottedQuad(address[(start + 12)...], to: &text)
            return String(decoding: text, as: UTF8.self)
        }
        let (runStart, runLength) = longestZeroRun(group)
        var index = 0
        while index < 8 {
            if index == runStart && runLength >= 2 {
                text.append(contentsOf: index == 0 ? [UInt8(ascii: ":"), UInt8(ascii: ":")] : [UInt8(ascii: ":")])
                index += runLength
                continue
            }
            appendHex(group[index], to: &text)
            if index < 7 { text.append(UInt8(ascii: ":")) }
            index += 1
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The first longest run of zero groups: (start, length), length 0 when there is none.
    private static func longestZeroRun(_ group: [Int]) -> (Int, Int) {
        var best = (0, 0)
        var index = 0
        while index < 8 {
            guard group[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8 && group[index] == 0 { index += 1 }
            if index - start > best.1 { best = (start, index - start) }
        }
        return best
    }

    private static func appendHex(_ value: Int, to text: inout [UInt8]) {
        var started = false
        for shift in stride(from: 12, through: 0, by: -4) {
            let digit = (value >> shift) & 0xF
            if digit != 0 || started || shift == 0 {
                text.append(hexDigits[digit])
                started = true
            }
        }
    }

    /// Sixteen octets from any RFC 4291 §2.2 text form: 1–4 hex digits a group (either case), at
    /// most one "::" standing for one or more zero groups, optionally a dotted quad as the last 32
    /// bits. Nil for anything else (zone ids included).
    static func parse(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var compressed = false
        var index = 0
        if bytes.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            compressed = true
            index = 2
        }
        while index < bytes.count {
            let groupStart = index
            var value = 0
            while index < bytes.count, let digit = hexValue(bytes[index]) {
                value = value << 4 | digit
                index += 1
                guard index - groupStart <= 4 else { return nil }
            }
            if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
                // A trailing dotted quad: the rest of the text, two groups.
                guard let quad = IPv4Text.parse(bytes[groupStart...]) else { return nil }
                let groups = [UInt16(quad[0]) << 8 | UInt16(quad[1]), UInt16(quad[2]) << 8 | UInt16(quad[3])]
                if compressed { tail += groups } else { head += groups }
                index = bytes.count
                break
            }
            guard index > groupStart else { return nil }
            if compressed { tail.append(UInt16(value)) } else { head.append(UInt16(value)) }
            guard index < bytes.count else { break }
            guard bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < bytes.count && bytes[index] == UInt8(ascii: ":") {
                guard !compressed else { return nil }
                compressed = true
                index += 1
            } else if index == bytes.count {
                return nil  // "1:" ends inside a group
            }
        }
        let groupCount = head.count + tail.count
        guard compressed ? groupCount <= 7 : groupCount == 8 else { return nil }
        let all = head + [UInt16](repeating: 0, count: 8 - groupCount) + tail
        var address: [UInt8] = []
        address.reserveCapacity(16)
        for group in all {
            address.append(UInt8(group >> 8))
            address.append(UInt8(group & 0xFF))
        }
        return address
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
