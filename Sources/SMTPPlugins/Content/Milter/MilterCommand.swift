/// The client's address as SMFIC_CONNECT carries it (SMFIA_* families).
enum MilterClientAddress: Sendable, Hashable {
    case inet(address: String, port: UInt16)
    case inet6(address: String, port: UInt16)
    case unix(path: String)
    case unknown

    /// From the session's address: a colon means IPv6 (sent without brackets, as Postfix does).
    init(ip: String, port: Int) {
        if ip.isEmpty {
            self = .unknown
        } else if ip.contains(":") {
            self = .inet6(address: ip, port: UInt16(clamping: port))
        } else {
            self = .inet(address: ip, port: UInt16(clamping: port))
        }
    }
}

/// What the MTA sends (SMFIC_* in mfdef.h). Strings are NUL-terminated on the wire.
enum MilterCommand: Sendable, Hashable {
    case negotiate(MilterNegotiation)
    /// Macros for the command that follows, named by that command's byte.
    case macros(MilterMacroStage, [MilterMacro])
    case connect(hostName: String, address: MilterClientAddress)
    case helo(String)
    /// The sender in angle brackets, then each ESMTP parameter as written.
    case mail([String])
    case rcpt([String])
    case data
    /// A header field's name and value; the value with or without its leading space as negotiated.
    case header(name: String, value: String)
    case endOfHeaders
    /// At most 65535 bytes of the body, CRLF line ends as received.
    case body([UInt8])
    case endOfBody
    /// An SMTP command line the MTA did not recognize.
    case unknown(String)
    case abort
    case quit

    /// The packet this command goes out as.
    var packet: MilterPacket {
        var data: [UInt8] = []
        switch self {
        case .negotiate(let offer):
            return offer.packet
        case .macros(let stage, let macros):
            data.append(stage.command.asciiValue!)
            for macro in macros {
                data.appendCString(macro.name)
                data.appendCString(macro.value)
            }
            return MilterPacket("D", data)
        case .connect(let hostName, let address):
            data.appendCString(hostName)
            switch address {
            case .inet(let ip, let port):
                data.append(UInt8(ascii: "4"))
                data.appendUInt16(port)
                data.appendCString(ip)
            case .inet6(let ip, let port):
                data.append(UInt8(ascii: "6"))
                data.appendUInt16(port)
                data.appendCString(ip)
            case .unix(let path):
                data.append(UInt8(ascii: "L"))
                data.appendUInt16(0)
                data.appendCString(path)
            case .unknown:
                data.append(UInt8(ascii: "U"))
            }
            return MilterPacket("C", data)
        case .helo(let host):
            data.appendCString(host)
            return MilterPacket("H", data)
        case .mail(let words):
            words.forEach { data.appendCString($0) }
            return MilterPacket("M", data)
        case .rcpt(let words):
            words.forEach { data.appendCString($0) }
            return MilterPacket("R", data)
        case .data:
            return MilterPacket("T")
        case .header(let name, let value):
            data.appendCString(name)
            data.appendCString(value)
            return MilterPacket("L", data)
        case .endOfHeaders:
            return MilterPacket("N")
        case .body(let chunk):
            return MilterPacket("B", chunk)
        case .endOfBody:
            return MilterPacket("E")
        case .unknown(let line):
            data.appendCString(line)
            return MilterPacket("U", data)
        case .abort:
            return MilterPacket("A")
        case .quit:
            return MilterPacket("Q")
        }
    }

    /// The largest SMFIC_BODY chunk: the protocol's limit without SMFIP_MDS_*.
    static let maxBodyChunk = 65_535
}
