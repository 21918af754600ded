/// A cursor over a received message. Every read checks its bounds first, so no input can make an
/// array subscript trap; running past `end` is `.truncated`.
struct WireReader {
    let bytes: [UInt8]
    var offset: Int
    /// Reads stop here: the message's end, or the end of the RDATA being read.
    var end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    var remaining: Int { end - offset }

    mutating func readUInt8() throws(DNSWireError) -> UInt8 {
        guard offset < end else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSWireError) -> UInt16 {
        guard end - offset >= 2 else { throw .truncated }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSWireError) -> UInt32 {
        guard end - offset >= 4 else { throw .truncated }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    mutating func readBytes(_ count: Int) throws(DNSWireError) -> ArraySlice<UInt8> {
        guard count >= 0, end - offset >= count else { throw .truncated }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
