/// Everything that can be wrong with a message, read or written.
public enum DNSWireError: Error, Sendable, Hashable {
    /// The message ends inside a field, or its counts promise more than its bytes hold.
    case truncated
    /// A compression pointer that is not strictly backwards from the name it continues, or points
    /// into the header.
    case badPointer
    /// Too many pointer hops for one name.
    case pointerLoop
    /// A label over 63 octets, or a reserved label type (0x40/0x80).
    case labelTooLong
    /// A name over 255 octets on the wire.
    case nameTooLong
    /// "a..b" (or a leading dot) when encoding.
    case emptyLabel
    /// RDATA shorter or longer than its type needs (A not 4 bytes, MX cut short, ...); when
    /// encoding also: address text that does not parse, a TXT string over 255 octets, RDATA that
    /// does not suit the record's type, an OPT record in `additionals`, an rcode above 15 without
    /// EDNS (`type` 41 for the last two).
    case badRData(type: UInt16)
    /// Over 65535 octets.
    case messageTooLarge
    /// Bytes after the last record.
    case trailingBytes
}
