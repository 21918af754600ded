// Small helpers for writing wire vectors by hand, so the vectors read as fields rather than as
// one long hex string. They deliberately share no code with the encoder under test.

/// Uncompressed labels followed by the root octet: `name("www", "example")` is 3www7example0.
func name(_ labels: String...) -> [UInt8] {
    labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
}

/// Labels with no root octet, to be followed by a pointer.
func labels(_ labels: String...) -> [UInt8] {
    labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
}

/// A compression pointer to `offset`.
func pointer(_ offset: Int) -> [UInt8] {
    [0xC0 | UInt8(offset >> 8), UInt8(offset & 0xFF)]
}

func u16(_ value: Int) -> [UInt8] {
    [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

func u32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

/// The 12-octet header: id, flags, then the four counts.
func header(id: Int, flags: Int, questions: Int = 1, answers: Int = 0, authorities: Int = 0, additionals: Int = 0) -> [UInt8] {
    u16(id) + u16(flags) + u16(questions) + u16(answers) + u16(authorities) + u16(additionals)
}

/// Type and class after a question's name.
func question(type: Int, rrclass: Int = 1) -> [UInt8] {
    u16(type) + u16(rrclass)
}

/// Type, class, TTL and RDLENGTH after a record's name, then the RDATA.
func record(type: Int, rrclass: Int = 1, ttl: UInt32, rdata: [UInt8]) -> [UInt8] {
    u16(type) + u16(rrclass) + u32(ttl) + u16(rdata.count) + rdata
}

/// An OPT pseudo-record (RFC 6891): root name, type 41, payload size as class, TTL, no options.
func opt(payload: Int, ttl: UInt32 = 0) -> [UInt8] {
    [0] + record(type: 41, rrclass: payload, ttl: ttl, rdata: [])
}

/// Response flags: QR, RD, RA set, the given rcode.
func responseFlags(rcode: Int = 0) -> Int {
    0x8180 | rcode
}
