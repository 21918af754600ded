// DNSWire: the DNS message format of RFC 1035 §4 with EDNS0 (RFC 6891), written by hand for this
// project because no Swift DNS library is available to the build. It depends on nothing (no NIO,
// no Foundation), so scripts/fuzz-dnswire.sh can compile these files alone with libFuzzer.

/// Entry points: build a query, encode any message, decode any message.
public enum DNSWire {
    /// The largest message (RFC 1035 §4.2.2's two-octet TCP length prefix).
    static let maximumMessageSize = 65535

    /// A query message: one question, RD set, an OPT record advertising `ednsPayloadSize` when not nil.
    public static func query(id: UInt16, name: String, type: UInt16, ednsPayloadSize: UInt16? = 1232) throws(DNSWireError) -> [UInt8] {
        let message = DNSMessage(
            header: DNSHeader(id: id, recursionDesired: true),
            questions: [DNSQuestion(name: name, type: type)],
            ednsPayloadSize: ednsPayloadSize
        )
        return try encode(message)
    }

    /// Any message (used by tests and fake servers too). Names compressed against earlier names.
    public static func encode(_ message: DNSMessage) throws(DNSWireError) -> [UInt8] {
        let bytes = try MessageEncoder.encodeWithoutSizeLimit(message)
        guard bytes.count <= maximumMessageSize else { throw .messageTooLarge }
        return bytes
    }

    /// Parses a whole message. Never traps on any input; every defect is a DNSWireError.
    public static func decode(_ bytes: [UInt8]) throws(DNSWireError) -> DNSMessage {
        try MessageDecoder.decode(bytes)
    }
}
