import SMTPPluginAPI

/// What the plugin does with rspamd's action: refuse, defer, greylist, or let the message through
/// (marking it as spam, with rspamd's rewritten subject, when the action asks).
enum RspamdDecision: Sendable, Equatable {
    /// `no action`, `add header` (marked), `rewrite subject` (marked, subject replaced), or an
    /// action this plugin does not know (logged).
    case pass(markSpam: Bool, subject: String?)
    /// `reject`: 554 5.7.1 with rspamd's SMTP message or our text.
    case reject(String)
    /// `soft reject`: 451 4.7.1.
    case softReject(String)
    /// `greylist`: the greylisting store decides whether this is a retry that may pass.
    case greylist

    static let rejectText = "Spam message rejected"
    static let softRejectText = "Try again later"

    init(_ reply: RspamdReply) {
        let message = reply.smtpMessage.map(Self.oneLine).flatMap { $0.isEmpty ? nil : $0 }
        switch reply.result.action {
        case "reject": self = .reject("5.7.1 " + (message ?? Self.rejectText))
        case "soft reject": self = .softReject("4.7.1 " + (message ?? Self.softRejectText))
        case "greylist": self = .greylist
        case "add header": self = .pass(markSpam: true, subject: nil)
        case "rewrite subject":
            // rspamd always sends the new subject with this action; without one the old stays.
            self = .pass(markSpam: true, subject: reply.subject.map(Self.oneLine))
        default: self = .pass(markSpam: false, subject: nil)
        }
    }

    /// rspamd's text as one reply line (a site's message could contain line ends).
    static func oneLine(_ text: String) -> String {
        // Scalars, not Characters: "\r\n" is one Character, equal to neither.
        let lines = text.unicodeScalars.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).map { String(String.UnicodeScalarView($0)) }
        return lines.joined(separator: " ").trimmingSpacesAndTabs()
    }
}
