/// A message being written: big-endian integers, and names compressed against the names written
/// before them (RFC 1035 §4.1.4).
struct WireWriter {
    /// A pointer holds 14 bits of offset.
    private static let maximumPointerTarget = 0x3FFF

    private(set) var bytes: [UInt8] = []
    /// Where each name suffix already written starts, keyed by its uncompressed wire form. Exact
    /// bytes, not case-folded: a pointer never changes what the reader sees.
    private var suffixOffsets: [ArraySlice<UInt8>: Int] = [:]

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func writeUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(value & 0xFFFF))
    }

    mutating func writeBytes(_ values: some Collection<UInt8>) {
        bytes.append(contentsOf: values)
    }

    /// Overwrites two octets already written (an RDLENGTH, once the RDATA is known).
    mutating func patchUInt16(_ value: UInt16, at position: Int) {
        bytes[position] = UInt8(value >> 8)
        bytes[position + 1] = UInt8(value & 0xFF)
    }

    /// Writes `name`, ending in a pointer to the longest suffix already written when `compress`.
    mutating func writeName(_ name: String, compress: Bool = true) throws(DNSWireError) {
        let (wire, labelStarts) = try NameEncoding.wireForm(of: name)
        for labelStart in labelStarts {
            let suffix = wire[labelStart...]
            if compress, let target = suffixOffsets[suffix] {
                writeUInt16(0xC000 | UInt16(target))
                return
            }
            if compress && bytes.count <= Self.maximumPointerTarget {
                suffixOffsets[suffix] = bytes.count
            }
            let labelLength = Int(wire[labelStart])
            bytes.append(contentsOf: wire[labelStart...labelStart + labelLength])
        }
        bytes.append(0)
    }
}
