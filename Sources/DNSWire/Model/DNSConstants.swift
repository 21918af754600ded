/// The RR type numbers this codec reads into typed RDATA (plus OPT, which it handles itself).
public enum DNSType {
    public static let a: UInt16 = 1, ns: UInt16 = 2, cname: UInt16 = 5, soa: UInt16 = 6, ptr: UInt16 = 12,
        mx: UInt16 = 15, txt: UInt16 = 16, aaaa: UInt16 = 28, opt: UInt16 = 41
}

/// Response codes (RFC 1035 §4.1.1). Every constant is spelled `UInt16` so it compares and matches
/// in a `switch` against `DNSHeader.rcode` directly.
public enum DNSRCode {
    public static let noError: UInt16 = 0, formErr: UInt16 = 1, servFail: UInt16 = 2, nxDomain: UInt16 = 3,
        notImp: UInt16 = 4, refused: UInt16 = 5
}
