public import SMTPCore

/// What a plugin answers at a hook: qpsmtpd's OK, DENY, DENYSOFT, DENY_DISCONNECT,
/// DENYSOFT_DISCONNECT, DECLINED and DONE. A message replaces the hook's default reply text;
/// it may start with its own enhanced status code (`5.7.1 text`).
public enum HookResult: Sendable, Hashable {
    /// No opinion: ask the next plugin.
    case declined
    /// Accept, or "handled"; at `mail_pre`/`rcpt_pre` the message is the replacement address,
    /// at `received_line` the header value.
    case ok(String? = nil)
    /// Permanent refusal (5xx).
    case deny(String? = nil)
    /// Temporary refusal (4xx).
    case denySoft(String? = nil)
    /// Permanent refusal, then the connection is closed.
    case denyDisconnect(String? = nil)
    /// Temporary refusal, then the connection is closed.
    case denySoftDisconnect(String? = nil)
    /// The plugin has decided the reply itself. qpsmtpd's DONE meant "I already wrote the reply";
    /// our plugins never touch the socket, so they hand the reply over instead.
    case done(SMTPReply)

    public var message: String? {
        switch self {
        case .declined, .done: return nil
        case .ok(let m), .deny(let m), .denySoft(let m), .denyDisconnect(let m), .denySoftDisconnect(let m): return m
        }
    }

    /// True for the four DENY results.
    public var isDenial: Bool {
        switch self {
        case .deny, .denySoft, .denyDisconnect, .denySoftDisconnect: return true
        default: return false
        }
    }

    /// qpsmtpd's constant name, for logs.
    public var name: String {
        switch self {
        case .declined: return "DECLINED"
        case .ok: return "OK"
        case .deny: return "DENY"
        case .denySoft: return "DENYSOFT"
        case .denyDisconnect: return "DENY_DISCONNECT"
        case .denySoftDisconnect: return "DENYSOFT_DISCONNECT"
        case .done: return "DONE"
        }
    }
}
