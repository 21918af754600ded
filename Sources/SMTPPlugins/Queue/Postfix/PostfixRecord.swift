/// The record types a client sends to Postfix's cleanup service (Postfix's `rec_type.h`): the
/// envelope, the message content line by line, and the end.
enum PostfixRecordType: UInt8, Sendable, Hashable {
    /// Arrival time, `seconds microseconds`.
    case time = 0x54  // T
    /// The envelope sender; empty for the null sender.
    case sender = 0x53  // S
    /// One envelope recipient.
    case recipient = 0x52  // R
    /// The envelope ends and the content begins.
    case messageStart = 0x4D  // M
    /// A content line, or the last piece of a long one.
    case normal = 0x4E  // N
    /// A piece of a long content line that the next record continues.
    case continued = 0x4C  // L
    /// The content ends; records extracted from it would follow.
    case extracted = 0x58  // X
    /// The message ends.
    case end = 0x45  // E
}

/// Postfix's record format (`record.c`): a type byte, the data's length, the data. The length is
/// base-128, least significant group first, the high bit set on every byte but the last.
enum PostfixRecord {
    /// The longest piece of a content line in one record. Postfix's own front ends (smtpd,
    /// sendmail) cut input lines at `line_length_limit`, 2048 by default, into `L` records ended
    /// by an `N`; cleanup relies on them to keep records that short, and delivery agents join
    /// the pieces again.
    static let maximumLinePiece = 2048

    static func encodedLength(_ count: Int) -> [UInt8] {
        precondition(count >= 0)
        var rest = count
        var out: [UInt8] = []
        repeat {
            var byte = UInt8(rest & 0x7F)
            rest >>= 7
            if rest != 0 { byte |= 0x80 }
            out.append(byte)
        } while rest != 0
        return out
    }

    static func append(_ type: PostfixRecordType, _ data: some Collection<UInt8>, to out: inout [UInt8]) {
        out.append(type.rawValue)
        out += encodedLength(data.count)
        out += data
    }

    /// One content line (without its line end) as `L` records of `maximumLinePiece` bytes and a
    /// final `N` with the rest, which may be empty only when the whole line is.
    static func appendLine(_ line: some Collection<UInt8>, to out: inout [UInt8]) {
        var rest = line[...]
        while rest.count > maximumLinePiece {
            append(.continued, rest.prefix(maximumLinePiece), to: &out)
            rest = rest.dropFirst(maximumLinePiece)
        }
        append(.normal, rest, to: &out)
    }

    /// Splits bytes back into records; nil when they end inside a record or a length is too big.
    /// For tests and diagnostics: the cleanup service is the one that reads records for real.
    static func decode(_ bytes: [UInt8]) -> [(type: UInt8, data: [UInt8])]? {
        var records: [(type: UInt8, data: [UInt8])] = []
        var position = 0
        while position < bytes.count {
            let type = bytes[position]
            position += 1
            var length = 0
            var shift = 0
            while true {
                guard position < bytes.count, shift <= 28 else { return nil }
                let byte = bytes[position]
                position += 1
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            guard bytes.count - position >= length else { return nil }
            records.append((type, Array(bytes[position..<(position + length)])))
            position += length
        }
        return records
    }
}
