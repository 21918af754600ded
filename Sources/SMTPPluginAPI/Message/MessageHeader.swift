/// A message's header fields in order, kept as sent so a queued message differs from the
/// received one only by the fields we add (RFC 5322 §2.2).
public struct MessageHeader: Sendable, Hashable {
    public struct Field: Sendable, Hashable {
        public var name: String
        /// Everything after the colon, folding kept (continuation lines joined by CRLF), no final line end.
        public var rawValue: String

        public init(name: String, rawValue: String) {
            self.name = name
            self.rawValue = rawValue
        }

        /// A field from a value that may contain `\n` folds (qpsmtpd's multi-line Received).
        public init(name: String, value: String) {
            self.name = name
            let folded = value.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
                .joined(separator: "\r\n")
            self.rawValue = " " + folded
        }

        /// The value unfolded and trimmed, for reading.
        public var value: String {
            rawValue.replacingAll("\r\n", with: "").trimmingSpaces()
        }
    }

    public var fields: [Field]

    public init(fields: [Field] = []) { self.fields = fields }

    public func all(named name: String) -> [Field] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }
    }

    /// The unfolded value of the first field with this name.
    public func value(of name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    public mutating func append(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    public mutating func prepend(_ name: String, _ value: String) {
        fields.insert(Field(name: name, value: value), at: 0)
    }

    public mutating func remove(named name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    public mutating func rename(_ name: String, to newName: String) {
        for i in fields.indices where fields[i].name.caseInsensitiveEquals(name) { fields[i].name = newName }
    }

    /// The header block, each field ended by `lineEnding`; folds use the same line ending.
    public func serialized(lineEnding: String = "\r\n") -> String {
        var out = ""
        for field in fields {
            out += field.name + ":"
            out += lineEnding == "\r\n" ? field.rawValue : field.rawValue.replacingAll("\r\n", with: lineEnding)
            out += lineEnding
        }
        return out
    }
}

extension MessageHeader {
    /// Where a header block ends in the first bytes of a message.
    public struct ParseResult: Sendable, Hashable {
        public var header: MessageHeader
        /// Offset of the body: the empty line that separated it, or the first line that is not a field.
        public var bodyOffset: Int
    }

    /// Parses fields from the start of `bytes` (CRLF line ends). Returns nil when the block has not
    /// ended yet and `isComplete` is false; with `isComplete` every line read so far is considered.
    /// A line that is not a field ends the header there and starts the body: nothing is dropped
    /// (qpsmtpd's Mail::Header silently drops such lines; we keep them as body).
    public static func parse(_ bytes: [UInt8], isComplete: Bool) -> ParseResult? {
        var fields: [Field] = []
        var lineStart = 0
        while lineStart < bytes.count {
            guard let lf = bytes[lineStart...].firstIndex(of: 0x0A) else {
                // A last line without its end: only a finished message can have one.
                if !isComplete { return nil }
                if let field = Self.field(bytes[lineStart..<bytes.count], continuing: &fields) {
                    fields.append(field)
                    return ParseResult(header: MessageHeader(fields: fields), bodyOffset: bytes.count)
                }
                return ParseResult(header: MessageHeader(fields: fields), bodyOffset: lineStart)
            }
            var lineEnd = lf
            if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[lineStart..<lineEnd]
            if line.isEmpty {
                return ParseResult(header: MessageHeader(fields: fields), bodyOffset: lineStart)
            }
            if let field = Self.field(line, continuing: &fields) {
                fields.append(field)
            } else if line.first != 0x20 && line.first != 0x09 || fields.isEmpty {
                return ParseResult(header: MessageHeader(fields: fields), bodyOffset: lineStart)
            }
            lineStart = lf + 1
        }
        return isComplete ? ParseResult(header: MessageHeader(fields: fields), bodyOffset: bytes.count) : nil
    }

    /// A new field from `line`, or nil; a continuation line is folded into the last field instead.
    private static func field(_ line: ArraySlice<UInt8>, continuing fields: inout [Field]) -> Field? {
        if line.first == 0x20 || line.first == 0x09 {
            if !fields.isEmpty {
                fields[fields.count - 1].rawValue += "\r\n" + String(decoding: line, as: UTF8.self)
            }
            return nil
        }
        // field-name = 1*ftext, ftext = %d33-57 / %d59-126 (RFC 5322 §3.6.8)
        guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex,
            line[line.startIndex..<colon].allSatisfy({ $0 >= 33 && $0 <= 126 && $0 != 0x3A })
        else { return nil }
        return Field(
            name: String(decoding: line[line.startIndex..<colon], as: UTF8.self),
            rawValue: String(decoding: line[(colon + 1)...], as: UTF8.self))
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && lowercased() == other.lowercased()
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        return components(separatedBy: target).joined(separator: replacement)
    }

    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }

    /// Splits on `separator` without Foundation.
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
