import SMTPPluginAPI

/// A qpsmtpd return-code constant written in a config file or argument (`OK`, `DENY`,
/// `DENYSOFT`, `DENY_DISCONNECT`, `DENYSOFT_DISCONNECT`, `DECLINED`), as `rcpt_map` and
/// `rcpt_regexp` use them. `DONE` is refused: it meant "the plugin wrote the reply itself",
/// which a table line cannot do.
enum ReturnCodeWord: String, Sendable, CaseIterable {
    case ok = "OK"
    case deny = "DENY"
    case denySoft = "DENYSOFT"
    case denyDisconnect = "DENY_DISCONNECT"
    case denySoftDisconnect = "DENYSOFT_DISCONNECT"
    case declined = "DECLINED"

    init?(word: some StringProtocol) {
        self.init(rawValue: word.uppercased())
    }

    static var allWords: String { allCases.map(\.rawValue).joined(separator: ", ") }

    var isRefusal: Bool { self != .ok && self != .declined }

    func result(_ message: String?) -> HookResult {
        switch self {
        case .ok: return .ok(message)
        case .deny: return .deny(message)
        case .denySoft: return .denySoft(message)
        case .denyDisconnect: return .denyDisconnect(message)
        case .denySoftDisconnect: return .denySoftDisconnect(message)
        case .declined: return .declined
        }
    }
}
