/// Which commands go out and which wait for an answer, once the options are negotiated.
extension MilterNegotiation {
    /// Whether the milter wants this callback at all (the SMFIP_NO* steps and the version).
    func wants(_ command: MilterCommand) -> Bool {
        let steps = self.steps
        switch command {
        case .connect: return !steps.contains(.noConnect)
        case .helo: return !steps.contains(.noHelo)
        case .mail: return !steps.contains(.noMail)
        case .rcpt: return !steps.contains(.noRcpt)
        case .data: return !steps.contains(.noData) && version >= 4
        case .header: return !steps.contains(.noHeaders)
        case .endOfHeaders: return !steps.contains(.noEndOfHeaders)
        case .body: return !steps.contains(.noBody)
        case .unknown: return !steps.contains(.noUnknown) && version >= 3
        case .negotiate, .macros, .endOfBody, .abort, .quit: return true
        }
    }

    /// Whether the milter answers this command (the SMFIP_NR_* steps); ABORT, MACRO and QUIT
    /// never get an answer.
    func answers(_ command: MilterCommand) -> Bool {
        let steps = self.steps
        switch command {
        case .connect: return !steps.contains(.noReplyConnect)
        case .helo: return !steps.contains(.noReplyHelo)
        case .mail: return !steps.contains(.noReplyMail)
        case .rcpt: return !steps.contains(.noReplyRcpt)
        case .data: return !steps.contains(.noReplyData)
        case .header: return !steps.contains(.noReplyHeader)
        case .endOfHeaders: return !steps.contains(.noReplyEndOfHeaders)
        case .body: return !steps.contains(.noReplyBody)
        case .unknown: return !steps.contains(.noReplyUnknown)
        case .negotiate, .endOfBody: return true
        case .macros, .abort, .quit: return false
        }
    }
}
