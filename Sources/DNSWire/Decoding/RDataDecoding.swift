/// Reading RDATA into its typed form (RFC 1035 §3.3, RFC 3596 for AAAA).
extension WireReader {
    /// Reads `length` octets of RDATA for a record of `type`. The typed forms must use them all,
    /// exactly: too few or too many is `.badRData(type:)`. Names inside may point anywhere earlier
    /// in the message.
    mutating func readRData(type: UInt16, length: Int, scratch: inout [UInt8]) throws(DNSWireError) -> DNSRData {
        guard remaining >= length else { throw .truncated }
        let rdataEnd = offset + length
        let messageEnd = end
        end = rdataEnd
        defer { end = messageEnd }
        let data: DNSRData
        do {
            data = try readTypedRData(type: type, length: length, scratch: &scratch)
        } catch .truncated {
            // All `length` octets are there (checked above): running out means the RDATA is short.
            throw .badRData(type: type)
        }
        guard offset == rdataEnd else { throw .badRData(type: type) }
        return data
    }

    private mutating func readTypedRData(type: UInt16, length: Int, scratch: inout [UInt8]) throws(DNSWireError) -> DNSRData {
        switch type {
        case DNSType.a:
            guard length == 4 else { throw .badRData(type: type) }
            return .a(IPv4Text.format(try readBytes(4)))
        case DNSType.aaaa:
            guard length == 16 else { throw .badRData(type: type) }
            return .aaaa(IPv6Text.format(try readBytes(16)))
        case DNSType.cname:
            return .cname(try readName(scratch: &scratch))
        case DNSType.ptr:
            return .ptr(try readName(scratch: &scratch))
        case DNSType.ns:
            return .ns(try readName(scratch: &scratch))
        case DNSType.mx:
            let preference = try readUInt16()
            return .mx(preference: preference, exchange: try readName(scratch: &scratch))
        case DNSType.txt:
            var strings: [String] = []
            while remaining > 0 {
                let count = Int(try readUInt8())
                strings.append(WireText.characterString(try readBytes(count)))
            }
            return .txt(strings)
        case DNSType.soa:
            let mname = try readName(scratch: &scratch)
            let rname = try readName(scratch: &scratch)
            return .soa(
                mname: mname, rname: rname, serial: try readUInt32(), refresh: try readUInt32(),
                retry: try readUInt32(), expire: try readUInt32(), minimum: try readUInt32()
            )
        default:
            return .unknown(Array(try readBytes(length)))
        }
    }
}
