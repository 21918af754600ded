/// A whole message. The OPT pseudo-record is not in `additionals`: `ednsPayloadSize` stands for it,
/// and its extended rcode bits live in `header.rcode`.
public struct DNSMessage: Sendable, Hashable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    /// Without the OPT pseudo-record.
    public var additionals: [DNSResourceRecord]
    /// The OPT record's payload size (RFC 6891); nil = no OPT.
    public var ednsPayloadSize: UInt16?

    public init(
        header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = [], ednsPayloadSize: UInt16? = nil
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.ednsPayloadSize = ednsPayloadSize
    }
}
