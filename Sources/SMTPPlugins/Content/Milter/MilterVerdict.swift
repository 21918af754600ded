import SMTPCore
import SMTPPluginAPI

/// Turns a milter's decision into the hook's answer, with Postfix's texts for a plain reject or
/// tempfail, and the milter's own reply (one or more lines) for SMFIR_REPLYCODE.
enum MilterVerdict {
    /// How far a decision reaches: the whole connection (connect, HELO), the message (MAIL,
    /// DATA, content), or one recipient.
    enum Scope { case connection, message, recipient }

    /// A refusal remembered to answer later commands the same way.
    enum Refusal: Sendable, Hashable {
        case reject(SMTPReply?)
        case tempfail(SMTPReply?)

        /// The milter's own reply, else Postfix's: `550 5.7.1 Command rejected`, `451 4.7.1 Service
        /// unavailable - try again later`. Exact replies (DONE), so RCPT's and DATA's own refusal
        /// codes do not replace them; at connect 554 and 421, which close, as RFC 5321 §3.1 says.
        func result(at hook: HookPoint) -> HookResult {
            let atConnect = hook == .connect
            switch self {
            case .reject(let reply): return .done(reply ?? SMTPReply(atConnect ? 554 : 550, EnhancedStatusCode(5, 7, 1), "Command rejected"))
            case .tempfail(let reply): return .done(reply ?? SMTPReply(atConnect ? 421 : 451, EnhancedStatusCode(4, 7, 1), "Service unavailable - try again later"))
            }
        }
    }

    /// The answer when the milter failed, per `default_action`.
    static func failure(_ action: MilterDefaultAction, at hook: HookPoint) -> HookResult {
        switch action {
        case .accept: return .declined
        case .tempfail: return Refusal.tempfail(nil).result(at: hook)
        case .reject: return Refusal.reject(nil).result(at: hook)
        }
    }

    /// A refusal from `response`, nil for a decision that lets the command through.
    static func refusal(_ response: MilterResponse) throws -> Refusal? {
        switch response {
        case .reject: return .reject(nil)
        case .tempfail, .connectionFailure, .shutdown: return .tempfail(nil)
        case .replyCode(let text):
            let reply = try reply(text)
            return reply.isPermanentFailure ? .reject(reply) : .tempfail(reply)
        default: return nil
        }
    }

    /// SMFIR_REPLYCODE's text: `550 5.7.1 text`, or several lines joined by CRLF, each starting
    /// with the code (`550-` for all but the last). Only 4xx and 5xx are allowed.
    static func reply(_ text: String) throws -> SMTPReply {
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        guard let first = lines.first, first.count >= 3, let code = Int(first.prefix(3)), (400...599).contains(code) else {
            throw MilterProtocolError("reply code answer '\(text)' does not start with a 4xx or 5xx code")
        }
        var enhanced: EnhancedStatusCode?
        var texts: [String] = []
        for line in lines {
            guard line.count >= 3, Int(line.prefix(3)) == code else { throw MilterProtocolError("reply line '\(line)' changes the code") }
            var rest = line.dropFirst(3)
            if rest.first == "-" || rest.first == " " { rest = rest.dropFirst() }
            if let (own, after) = EnhancedStatusCode.split(leadingCodeOf: rest) {
                enhanced = enhanced ?? own
                rest = after
            }
            texts.append(String(rest))
        }
        return SMTPReply(code: code, enhancedCode: enhanced, lines: texts)
    }
}
