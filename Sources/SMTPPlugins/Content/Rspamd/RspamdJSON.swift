/// Any JSON value, for rspamd's replies, whose fields vary in type by version and by module
/// (a milter header is a string, an object with `value` and `order`, or a list of either).
enum RspamdJSON: Decodable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RspamdJSON])
    case object([String: RspamdJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let list = try? container.decode([RspamdJSON].self) {
            self = .array(list)
        } else {
            self = .object(try container.decode([String: RspamdJSON].self))
        }
    }

    subscript(key: String) -> RspamdJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var object: [String: RspamdJSON]? {
        if case .object(let members) = self { return members }
        return nil
    }
}
