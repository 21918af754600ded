/// What the MTA lets a milter change at end of message (SMFIF_* in libmilter's mfapi.h), offered
/// in SMFIC_OPTNEG and narrowed by the milter's answer.
struct MilterActions: OptionSet, Sendable, Hashable {
    let rawValue: UInt32
    static let addHeaders = MilterActions(rawValue: 0x01)
    static let changeBody = MilterActions(rawValue: 0x02)
    static let addRecipients = MilterActions(rawValue: 0x04)
    static let deleteRecipients = MilterActions(rawValue: 0x08)
    static let changeHeaders = MilterActions(rawValue: 0x10)
    static let quarantine = MilterActions(rawValue: 0x20)
    static let changeSender = MilterActions(rawValue: 0x40)
    static let addRecipientsWithParameters = MilterActions(rawValue: 0x80)
    static let setMacroList = MilterActions(rawValue: 0x100)

    /// Every action this client carries out.
    static let supported: MilterActions = [
        .addHeaders, .changeBody, .addRecipients, .deleteRecipients, .changeHeaders, .quarantine, .changeSender,
        .addRecipientsWithParameters, .setMacroList,
    ]
}

/// Protocol steps (SMFIP_* in mfdef.h): callbacks a milter does not want (NO*), callbacks it
/// will not answer (NR_*), and protocol features.
struct MilterProtocolSteps: OptionSet, Sendable, Hashable {
    let rawValue: UInt32
    static let noConnect = MilterProtocolSteps(rawValue: 0x1)
    static let noHelo = MilterProtocolSteps(rawValue: 0x2)
    static let noMail = MilterProtocolSteps(rawValue: 0x4)
    static let noRcpt = MilterProtocolSteps(rawValue: 0x8)
    static let noBody = MilterProtocolSteps(rawValue: 0x10)
    static let noHeaders = MilterProtocolSteps(rawValue: 0x20)
    static let noEndOfHeaders = MilterProtocolSteps(rawValue: 0x40)
    static let noReplyHeader = MilterProtocolSteps(rawValue: 0x80)
    static let noUnknown = MilterProtocolSteps(rawValue: 0x100)
    static let noData = MilterProtocolSteps(rawValue: 0x200)
    /// The MTA understands SMFIR_SKIP during the body.
    static let skip = MilterProtocolSteps(rawValue: 0x400)
    /// Recipients the MTA refused are sent too; we do not offer it (other plugins refused them).
    static let rejectedRecipients = MilterProtocolSteps(rawValue: 0x800)
    static let noReplyConnect = MilterProtocolSteps(rawValue: 0x1000)
    static let noReplyHelo = MilterProtocolSteps(rawValue: 0x2000)
    static let noReplyMail = MilterProtocolSteps(rawValue: 0x4000)
    static let noReplyRcpt = MilterProtocolSteps(rawValue: 0x8000)
    static let noReplyData = MilterProtocolSteps(rawValue: 0x10000)
    static let noReplyUnknown = MilterProtocolSteps(rawValue: 0x20000)
    static let noReplyEndOfHeaders = MilterProtocolSteps(rawValue: 0x40000)
    static let noReplyBody = MilterProtocolSteps(rawValue: 0x80000)
    /// Header values go out and come back with their leading space, exactly as written.
    static let headerLeadingSpace = MilterProtocolSteps(rawValue: 0x100000)
    /// Bigger data packets (256 KiB, 1 MiB): not offered, our body chunks stay under 64 KiB.
    static let maxDataSize256K = MilterProtocolSteps(rawValue: 0x10000000)
    static let maxDataSize1M = MilterProtocolSteps(rawValue: 0x20000000)

    /// What this client offers: every step can be left out or left unanswered, SKIP and the
    /// leading-space header form are understood.
    static let offered: MilterProtocolSteps = [
        .noConnect, .noHelo, .noMail, .noRcpt, .noBody, .noHeaders, .noEndOfHeaders, .noReplyHeader, .noUnknown,
        .noData, .skip, .noReplyConnect, .noReplyHelo, .noReplyMail, .noReplyRcpt, .noReplyData, .noReplyUnknown,
        .noReplyEndOfHeaders, .noReplyBody, .headerLeadingSpace,
    ]
}

/// The SMFIC_OPTNEG exchange: we send our version, actions and steps; the milter answers with
/// its own (a subset), optionally followed by the macros it wants at each stage.
struct MilterNegotiation: Sendable, Hashable {
    /// The protocol version this client speaks (Sendmail 8.14's, Postfix's).
    static let version: UInt32 = 6
    /// The oldest version still answered sensibly: 2 lacks only the v6 extras.
    static let oldestVersion: UInt32 = 2

    var version: UInt32
    var actions: MilterActions
    var steps: MilterProtocolSteps
    /// Macro names per stage, when the milter asked for them (SMFIF_SETSYMLIST).
    var macroRequests: [MilterMacroStage: [String]] = [:]

    static let offer = MilterNegotiation(version: version, actions: .supported, steps: .offered)

    var packet: MilterPacket {
        var data: [UInt8] = []
        data.appendUInt32(version)
        data.appendUInt32(actions.rawValue)
        data.appendUInt32(steps.rawValue)
        return MilterPacket("O", data)
    }

    /// The milter's answer, checked against what we offered: an action or a step we did not offer
    /// is refused, as Postfix refuses it, since we could not keep the promise.
    static func accepting(_ packet: MilterPacket) throws -> MilterNegotiation {
        guard packet.command == UInt8(ascii: "O") else {
            throw MilterProtocolError("expected the option negotiation answer, got command '\(Character(Unicode.Scalar(packet.command)))'")
        }
        var reader = MilterDataReader(packet.data)
        let version = try reader.uint32()
        let actions = MilterActions(rawValue: try reader.uint32())
        let steps = MilterProtocolSteps(rawValue: try reader.uint32())
        guard version >= oldestVersion else { throw MilterProtocolError("milter protocol version \(version) is too old") }
        guard MilterActions.supported.isSuperset(of: actions) else {
            throw MilterProtocolError("milter asks for actions 0x\(String(actions.subtracting(.supported).rawValue, radix: 16)) we did not offer")
        }
        // A milter may echo bits that only restrict it (MDS sizes it will not use); those we ignore.
        let unknown = steps.subtracting(MilterProtocolSteps.offered.union([.maxDataSize256K, .maxDataSize1M, .rejectedRecipients]))
        guard unknown.isEmpty else {
            throw MilterProtocolError("milter asks for protocol steps 0x\(String(unknown.rawValue, radix: 16)) we did not offer")
        }
        var answer = MilterNegotiation(version: min(version, self.version), actions: actions, steps: steps.intersection(.offered))
        while !reader.isAtEnd {
            let code = try reader.uint32()
            let names = reader.lastString()
            guard let stage = MilterMacroStage(rawValue: code) else { continue }  // a stage we never send: harmless
            answer.macroRequests[stage] = names.split(separator: " ").map(String.init)
        }
        return answer
    }
}
