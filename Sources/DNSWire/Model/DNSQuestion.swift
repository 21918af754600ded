/// One entry of the question section.
public struct DNSQuestion: Sendable, Hashable {
    /// Text form: labels joined by ".", no trailing dot, the root is "".
    public var name: String
    public var type: UInt16
    /// 1 = IN.
    public var rrclass: UInt16

    public init(name: String, type: UInt16, rrclass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.rrclass = rrclass
    }
}
