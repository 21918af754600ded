/// A whole message from bytes: header, the four sections, the OPT record taken out of the
/// additional section (RFC 6891 §6.1.1).
enum MessageDecoder {
    /// The smallest question: a root name (1 octet), type and class.
    private static let minimumQuestionSize = 5
    /// The smallest record: a root name, type, class, TTL, RDLENGTH 0.
    private static let minimumRecordSize = 11

    static func decode(_ bytes: [UInt8]) throws(DNSWireError) -> DNSMessage {
        guard bytes.count <= DNSWire.maximumMessageSize else { throw .messageTooLarge }
        var reader = WireReader(bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questionCount = Int(try reader.readUInt16())
        let answerCount = Int(try reader.readUInt16())
        let authorityCount = Int(try reader.readUInt16())
        let additionalCount = Int(try reader.readUInt16())

        // Counts are the sender's promise: refuse at once what the bytes cannot hold, so that
        // the capacities reserved below are bounded by the message's size, never by its claims.
        let recordCount = answerCount + authorityCount + additionalCount
        guard questionCount * minimumQuestionSize + recordCount * minimumRecordSize <= reader.remaining else {
            throw .truncated
        }

        var header = DNSHeader(
            id: id,
            isResponse: flags & 0x8000 != 0,
            opcode: UInt8(flags >> 11 & 0xF),
            authoritative: flags & 0x0400 != 0,
            truncated: flags & 0x0200 != 0,
            recursionDesired: flags & 0x0100 != 0,
            recursionAvailable: flags & 0x0080 != 0,
            rcode: flags & 0xF
        )
        var scratch: [UInt8] = []
        scratch.reserveCapacity(64)

        var questions: [DNSQuestion] = []
        questions.reserveCapacity(questionCount)
        for _ in 0..<questionCount {
            let name = try reader.readName(scratch: &scratch)
            let type = try reader.readUInt16()
            let rrclass = try reader.readUInt16()
            questions.append(DNSQuestion(name: name, type: type, rrclass: rrclass))
        }
        let answers = try readRecords(answerCount, from: &reader, scratch: &scratch)
        let authorities = try readRecords(authorityCount, from: &reader, scratch: &scratch)

        var additionals: [DNSResourceRecord] = []
        additionals.reserveCapacity(additionalCount)
        var ednsPayloadSize: UInt16? = nil
        for _ in 0..<additionalCount {
            let (record, optTTL) = try readRecord(from: &reader, scratch: &scratch)
            guard let optTTL else {
                additionals.append(record)
                continue
            }
            // OPT: CLASS is the payload size, TTL's top octet the rcode's upper 8 bits (RFC 6891
            // §6.1.3). Version, DO and options are not kept. Two OPTs are a malformed message (§6.1.1).
            guard ednsPayloadSize == nil else { throw .badRData(type: DNSType.opt) }
            ednsPayloadSize = record.rrclass
            header.rcode |= UInt16(optTTL >> 24) << 4
        }
        guard reader.remaining == 0 else { throw .trailingBytes }
        return DNSMessage(
            header: header, questions: questions, answers: answers, authorities: authorities,
            additionals: additionals, ednsPayloadSize: ednsPayloadSize
        )
    }

    private static func readRecords(
        _ count: Int, from reader: inout WireReader, scratch: inout [UInt8]
    ) throws(DNSWireError) -> [DNSResourceRecord] {
        var records: [DNSResourceRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            // OPT belongs in the additional section only; elsewhere it stays an ordinary record.
            records.append(try readRecord(from: &reader, scratch: &scratch, optAllowed: false).record)
        }
        return records
    }

    /// One record; when it is an OPT record (and `optAllowed`), also its TTL, for the caller to
    /// take apart, and its RDATA is skipped.
    private static func readRecord(
        from reader: inout WireReader, scratch: inout [UInt8], optAllowed: Bool = true
    ) throws(DNSWireError) -> (record: DNSResourceRecord, optTTL: UInt32?) {
        let name = try reader.readName(scratch: &scratch)
        let type = try reader.readUInt16()
        let rrclass = try reader.readUInt16()
        let ttl = try reader.readUInt32()
        let length = Int(try reader.readUInt16())
        if optAllowed && type == DNSType.opt {
            _ = try reader.readBytes(length)
            return (DNSResourceRecord(name: name, type: type, rrclass: rrclass, ttl: ttl, data: .unknown([])), ttl)
        }
        let data = try reader.readRData(type: type, length: length, scratch: &scratch)
        return (DNSResourceRecord(name: name, type: type, rrclass: rrclass, ttl: ttl, data: data), nil)
    }
}
