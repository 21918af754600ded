/// An attribute list as Postfix's daemons exchange them on local sockets (its `attr_print0` and
/// `attr_scan0` form): each attribute is its name and value, each ended by a NUL byte, and one
/// more NUL ends the list. Numbers travel as decimal text. The cleanup service opens with one
/// (`protocol`, `queue_id`), takes one (`flags`) and ends with one (`status`, `reason`).
struct PostfixAttributeList: Sendable, Hashable {
    struct Attribute: Sendable, Hashable {
        var name: String
        var value: String
    }

    var attributes: [Attribute]

    init(_ attributes: [Attribute] = []) {
        self.attributes = attributes
    }

    init(_ pairs: KeyValuePairs<String, String>) {
        attributes = pairs.map { Attribute(name: $0.key, value: $0.value) }
    }

    /// The first value under `name`.
    subscript(name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    /// The wire form. A NUL inside a name or value would end it early, so none may hold one;
    /// what we send are fixed names and numbers.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for attribute in attributes {
            precondition(!attribute.name.isEmpty, "an empty name would end the list")
            precondition(!attribute.name.utf8.contains(0) && !attribute.value.utf8.contains(0), "NUL inside an attribute")
            out += attribute.name.utf8
            out.append(0)
            out += attribute.value.utf8
            out.append(0)
        }
        out.append(0)
        return out
    }
}

/// Reads attribute lists from bytes as they arrive: feed what the socket gave, then take each
/// complete list; bytes after a list stay for the next one.
struct PostfixAttributeListDecoder: Sendable {
    struct TooLong: Error, CustomStringConvertible {
        var limit: Int
        var description: String { "attribute list longer than \(limit) bytes" }
    }

    /// A list longer than this is refused: the cleanup service's lists are a few dozen bytes, so
    /// anything near it is a broken or hostile peer, and waiting for more would grow without end.
    let maximumSize: Int
    private var buffer: [UInt8] = []

    init(maximumSize: Int = 65_536) {
        self.maximumSize = maximumSize
    }

    /// Bytes received and not yet taken as part of a list.
    var pending: Int { buffer.count }

    mutating func feed(_ bytes: [UInt8]) {
        buffer += bytes
    }

    /// The next complete list, or nil until more bytes arrive.
    mutating func next() throws(TooLong) -> PostfixAttributeList? {
        var attributes: [PostfixAttributeList.Attribute] = []
        var position = 0
        while true {
            guard let nameEnd = buffer[position...].firstIndex(of: 0) else { break }
            if nameEnd == position {
                // An empty name is the list's end.
                buffer.removeFirst(nameEnd + 1)
                return PostfixAttributeList(attributes)
            }
            guard let valueEnd = buffer[(nameEnd + 1)...].firstIndex(of: 0) else { break }
            attributes.append(.init(
                name: String(decoding: buffer[position..<nameEnd], as: UTF8.self),
                value: String(decoding: buffer[(nameEnd + 1)..<valueEnd], as: UTF8.self)))
            position = valueEnd + 1
        }
        if buffer.count > maximumSize { throw TooLong(limit: maximumSize) }
        return nil
    }
}
