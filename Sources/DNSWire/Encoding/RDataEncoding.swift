/// Writing typed RDATA. Names in the RDATA of the RFC 1035 types are compressed; RFC 3597 §4
/// forbids it for any newer type, and the unknown ones are raw bytes anyway.
extension WireWriter {
    mutating func writeRData(_ data: DNSRData, type: UInt16) throws(DNSWireError) {
        guard Self.suits(data, type: type) else { throw .badRData(type: type) }
        switch data {
        case .a(let text):
            guard let address = IPv4Text.parse(text.utf8) else { throw .badRData(type: type) }
            writeBytes(address)
        case .aaaa(let text):
            guard let address = IPv6Text.parse(text) else { throw .badRData(type: type) }
            writeBytes(address)
        case .cname(let name), .ptr(let name), .ns(let name):
            try writeName(name)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            try writeName(exchange)
        case .txt(let strings):
            for string in strings {
                let utf8 = string.utf8
                guard utf8.count <= 255 else { throw .badRData(type: type) }
                writeUInt8(UInt8(utf8.count))
                writeBytes(utf8)
            }
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            try writeName(mname)
            try writeName(rname)
            for value in [serial, refresh, retry, expire, minimum] { writeUInt32(value) }
        case .unknown(let bytes):
            writeBytes(bytes)
        }
    }

    /// Whether `data` is the form the decoder would read for `type` (raw bytes suit any type).
    private static func suits(_ data: DNSRData, type: UInt16) -> Bool {
        switch data {
        case .a: type == DNSType.a
        case .aaaa: type == DNSType.aaaa
        case .cname: type == DNSType.cname
        case .ptr: type == DNSType.ptr
        case .ns: type == DNSType.ns
        case .mx: type == DNSType.mx
        case .txt: type == DNSType.txt
        case .soa: type == DNSType.soa
        case .unknown: true
        }
    }
}
