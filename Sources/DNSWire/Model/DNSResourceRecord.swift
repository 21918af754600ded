/// One record of the answer, authority or additional section.
public struct DNSResourceRecord: Sendable, Hashable {
    public var name: String
    public var type: UInt16
    public var rrclass: UInt16
    public var ttl: UInt32
    /// Must suit `type` when encoding (`.mx` for type 15, ...); `.unknown` raw bytes go with any type,
    /// which lets a fake server send deliberately broken RDATA.
    public var data: DNSRData

    public init(name: String, type: UInt16, rrclass: UInt16 = 1, ttl: UInt32, data: DNSRData) {
        self.name = name
        self.type = type
        self.rrclass = rrclass
        self.ttl = ttl
        self.data = data
    }
}
