/// One milter packet: a 4-byte big-endian length (counting the command byte and the data), the
/// command byte, then the data. Every message in both directions has this frame.
struct MilterPacket: Sendable, Hashable {
    var command: UInt8
    var data: [UInt8]

    init(_ command: Character, _ data: [UInt8] = []) {
        self.command = command.asciiValue!
        self.data = data
    }

    init(command: UInt8, data: [UInt8]) {
        self.command = command
        self.data = data
    }

    /// The largest packet we accept from a milter. Without SMFIP_MDS_* a milter's packets stay
    /// near 64 KiB (a body chunk); the margin allows long header values and replies.
    static let maxLength = 1 << 20

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(5 + data.count)
        out.appendUInt32(UInt32(data.count + 1))
        out.append(command)
        out.append(contentsOf: data)
        return out
    }
}

/// A milter broke the protocol: the conversation cannot go on.
struct MilterProtocolError: Error, Hashable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension [UInt8] {
    mutating func appendUInt32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    mutating func appendUInt16(_ value: UInt16) {
        append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)])
    }

    /// A NUL-terminated string, the milter protocol's only string form.
    mutating func appendCString(_ string: String) {
        append(contentsOf: string.utf8.filter { $0 != 0 })
        append(0)
    }
}

/// Reads the fields of a packet's data in order, throwing when the data ends too soon.
struct MilterDataReader {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }

    mutating func uint32() throws -> UInt32 {
        guard bytes.count - position >= 4 else { throw MilterProtocolError("packet too short for a 32-bit field") }
        defer { position += 4 }
        return bytes[position..<position + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    mutating func cString() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0) else { throw MilterProtocolError("string without its NUL") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    /// A final string whose NUL some milters leave out.
    mutating func lastString() -> String {
        let end = bytes[position...].firstIndex(of: 0) ?? bytes.count
        defer { position = Swift.min(bytes.count, end + 1) }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[position...])
    }
}
