/// The fixed 12-octet header (RFC 1035 §4.1.1) without the section counts, which follow from the
/// message's arrays. The Z, AD and CD bits are not kept: nothing here uses them.
public struct DNSHeader: Sendable, Hashable {
    public var id: UInt16
    public var isResponse: Bool
    /// Four bits on the wire; the encoder writes only the low four.
    public var opcode: UInt8
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    /// The 4 header bits, plus the OPT record's extended bits (RFC 6891 §6.1.3) when present:
    /// `(extended << 4) | headerBits`, so at most 4095.
    public var rcode: UInt16

    public init(
        id: UInt16, isResponse: Bool = false, opcode: UInt8 = 0, authoritative: Bool = false, truncated: Bool = false,
        recursionDesired: Bool = true, recursionAvailable: Bool = false, rcode: UInt16 = 0
    ) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.authoritative = authoritative
        self.truncated = truncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.rcode = rcode
    }
}
