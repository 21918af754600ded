/// A whole message into bytes, the OPT record last when `ednsPayloadSize` is set.
enum MessageEncoder {
    private static let largestHeaderRCode: UInt16 = 0xF
    private static let largestExtendedRCode: UInt16 = 0xFFF

    /// The message's bytes, however many (`DNSWire.encode` refuses more than 65535). The fuzz
    /// harness uses the size to check a `.messageTooLarge` it was given.
    static func encodeWithoutSizeLimit(_ message: DNSMessage) throws(DNSWireError) -> [UInt8] {
        let header = message.header
        if header.rcode > largestHeaderRCode {
            // The upper bits travel in the OPT record only.
            guard message.ednsPayloadSize != nil, header.rcode <= largestExtendedRCode else {
                throw .badRData(type: DNSType.opt)
            }
        }
        let additionalCount = message.additionals.count + (message.ednsPayloadSize == nil ? 0 : 1)
        let counts = [message.questions.count, message.answers.count, message.authorities.count, additionalCount]
        guard counts.allSatisfy({ $0 <= Int(UInt16.max) }) else { throw .messageTooLarge }

        var writer = WireWriter(capacity: 512)
        writer.writeUInt16(header.id)
        var flags = UInt16(header.opcode & 0xF) << 11 | header.rcode & largestHeaderRCode
        if header.isResponse { flags |= 0x8000 }
        if header.authoritative { flags |= 0x0400 }
        if header.truncated { flags |= 0x0200 }
        if header.recursionDesired { flags |= 0x0100 }
        if header.recursionAvailable { flags |= 0x0080 }
        writer.writeUInt16(flags)
        for count in counts { writer.writeUInt16(UInt16(count)) }

        for question in message.questions {
            try writer.writeName(question.name)
            writer.writeUInt16(question.type)
            writer.writeUInt16(question.rrclass)
        }
        for record in message.answers { try write(record, to: &writer) }
        for record in message.authorities { try write(record, to: &writer) }
        for record in message.additionals {
            // The OPT record is `ednsPayloadSize`'s to write; a second one would be malformed.
            guard record.type != DNSType.opt else { throw .badRData(type: DNSType.opt) }
            try write(record, to: &writer)
        }
        if let payloadSize = message.ednsPayloadSize {
            writer.writeUInt8(0)  // the root name
            writer.writeUInt16(DNSType.opt)
            writer.writeUInt16(payloadSize)
            writer.writeUInt32(UInt32(header.rcode >> 4) << 24)  // version 0, no flags
            writer.writeUInt16(0)  // no options
        }
        return writer.bytes
    }

    private static func write(_ record: DNSResourceRecord, to writer: inout WireWriter) throws(DNSWireError) {
        try writer.writeName(record.name)
        writer.writeUInt16(record.type)
        writer.writeUInt16(record.rrclass)
        writer.writeUInt32(record.ttl)
        let lengthPosition = writer.bytes.count
        writer.writeUInt16(0)
        try writer.writeRData(record.data, type: record.type)
        let length = writer.bytes.count - lengthPosition - 2
        guard length <= Int(UInt16.max) else { throw .messageTooLarge }
        writer.patchUInt16(UInt16(length), at: lengthPosition)
    }
}
