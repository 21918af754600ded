/// What a milter answers (SMFIR_* in mfdef.h): a decision, or at end of message a change to
/// the message first. Strings are NUL-terminated on the wire.
enum MilterResponse: Sendable, Hashable {
    // Decisions
    case accept
    case `continue`
    case reject
    case tempfail
    case discard
    /// Stop sending body chunks; go on with end of body.
    case skip
    /// "Still working": wait again, with the timer restarted.
    case progress
    /// The milter's own SMTP reply, as `550 5.7.1 text`, lines separated by CRLF (multi-line
    /// replies write `550-5.7.1 first` for all but the last).
    case replyCode(String)
    /// SMFIR_CONNFAIL and SMFIR_SHUTDOWN: the milter gives up; Postfix treats both as tempfail.
    case connectionFailure
    case shutdown

    // Changes, at end of message only
    case addHeader(name: String, value: String)
    /// Inserted at a 0-based position among the header fields.
    case insertHeader(index: Int, name: String, value: String)
    /// The `index`th (1-based) field named `name` gets `value`; an empty value deletes it.
    case changeHeader(index: Int, name: String, value: String)
    /// A piece of the new body; the pieces of one message add up to the whole.
    case replaceBody([UInt8])
    case changeSender(String, parameters: String?)
    case addRecipient(String, parameters: String?)
    case deleteRecipient(String)
    case quarantine(reason: String)

    var isModification: Bool {
        switch self {
        case .addHeader, .insertHeader, .changeHeader, .replaceBody, .changeSender, .addRecipient, .deleteRecipient, .quarantine:
            return true
        default:
            return false
        }
    }

    init(_ packet: MilterPacket) throws {
        var reader = MilterDataReader(packet.data)
        switch Character(Unicode.Scalar(packet.command)) {
        case "a": self = .accept
        case "c": self = .continue
        case "r": self = .reject
        case "t": self = .tempfail
        case "d": self = .discard
        case "s": self = .skip
        case "p": self = .progress
        case "f": self = .connectionFailure
        case "4": self = .shutdown
        case "y": self = .replyCode(reader.lastString())
        case "h": self = .addHeader(name: try reader.cString(), value: reader.lastString())
        case "i":
            let index = Int(try reader.uint32())
            self = .insertHeader(index: index, name: try reader.cString(), value: reader.lastString())
        case "m":
            let index = Int(try reader.uint32())
            self = .changeHeader(index: index, name: try reader.cString(), value: reader.lastString())
        case "b": self = .replaceBody(packet.data)
        case "e":
            let sender = try reader.cString()
            self = .changeSender(sender, parameters: reader.isAtEnd ? nil : reader.lastString())
        case "+": self = .addRecipient(reader.lastString(), parameters: nil)
        case "2":
            let recipient = try reader.cString()
            self = .addRecipient(recipient, parameters: reader.isAtEnd ? nil : reader.lastString())
        case "-": self = .deleteRecipient(reader.lastString())
        case "q": self = .quarantine(reason: reader.lastString())
        default:
            throw MilterProtocolError("unknown response '\(Self.printable(packet.command))'")
        }
    }

    static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(Character(Unicode.Scalar(byte))) : "0x" + String(byte, radix: 16)
    }
}
