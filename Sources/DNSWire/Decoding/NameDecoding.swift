/// Reading a possibly compressed name (RFC 1035 §4.1.4) into its text form.
extension WireReader {
    /// The message header is 12 octets: no name can start inside it.
    static let headerSize = 12
    /// A name holds at most 127 labels, so honest compression never needs more hops than that.
    static let maximumPointerHops = 127
    static let maximumNameOctets = 255

    /// Reads the name at `offset` and leaves `offset` after its in-place part (the first pointer
    /// included). Label bytes before the first pointer must lie before `end`; a pointer may lead
    /// anywhere earlier in the message. `scratch` is reused between names to spare allocations.
    ///
    /// A pointer must point strictly before the start of the label sequence that holds it (so
    /// chains only ever move backwards and cannot loop) and not into the header.
    mutating func readName(scratch: inout [UInt8]) throws(DNSWireError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var position = offset
        var bound = end
        var sequenceStart = offset
        var resumeAt: Int? = nil
        var wireOctets = 1  // the root label's length octet
        var hops = 0
        while true {
            guard position < bound else { throw .truncated }
            let lengthOctet = Int(bytes[position])
            switch lengthOctet & 0xC0 {
            case 0x00:
                if lengthOctet == 0 {
                    offset = resumeAt ?? position + 1
                    return String(decoding: scratch, as: UTF8.self)
                }
                let labelStart = position + 1
                guard bound - labelStart >= lengthOctet else { throw .truncated }
                wireOctets += 1 + lengthOctet
                guard wireOctets <= Self.maximumNameOctets else { throw .nameTooLong }
                if !scratch.isEmpty { scratch.append(UInt8(ascii: ".")) }
                WireText.appendLabel(bytes[labelStart..<labelStart + lengthOctet], to: &scratch)
                position = labelStart + lengthOctet
            case 0xC0:
                guard bound - position >= 2 else { throw .truncated }
                let target = (lengthOctet & 0x3F) << 8 | Int(bytes[position + 1])
                guard target >= Self.headerSize, target < sequenceStart else { throw .badPointer }
                hops += 1
                guard hops <= Self.maximumPointerHops else { throw .pointerLoop }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
                sequenceStart = target
                bound = bytes.count
            default:
                // 0x40 and 0x80: extended and reserved label types (RFC 6891 §5), never sent to us.
                throw .labelTooLong
            }
        }
    }
}
