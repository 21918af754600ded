import SMTPCore
import SMTPPluginAPI

/// What the session does with a hook's outcome: the reply, and whether the connection ends.
struct Response: Sendable {
    var reply: SMTPReply
    var disconnect = false

    init(_ code: Int, _ enhanced: EnhancedStatusCode?, _ text: String, disconnect: Bool = false) {
        self.reply = SMTPReply(code: code, defaultEnhanced: enhanced, text: text)
        self.disconnect = disconnect
    }

    init(reply: SMTPReply, disconnect: Bool = false) {
        self.reply = reply
        self.disconnect = disconnect
    }
}

/// One function per command turning a hook outcome into a reply: qpsmtpd's `*_respond`, with its
/// default texts (reference §1.7), enhanced status codes, and a reply wherever qpsmtpd stayed silent.
enum CommandResponses {
    static let internalError = EnhancedStatusCode(4, 3, 0)
    static let policy = EnhancedStatusCode(5, 7, 1)

    static func failure(_ verb: String, plugin: String) -> Response {
        Response(451, internalError, "Internal error - try again later - command '\(verb)' failed unexpectedly")
    }

    /// The common shape: DENY → 5xx, DENYSOFT → 4xx, the *_DISCONNECT forms close, DONE is the
    /// plugin's own reply, OK/DECLINED → `accept`.
    private static func map(
        _ outcome: HookOutcome, verb: String,
        deny: (Int, String), denySoft: (Int, String),
        denyDisconnect: (Int, String)? = nil, denySoftDisconnect: (Int, String)? = nil,
        declined: Response? = nil, accept: Response
    ) -> Response {
        switch outcome {
        case .failed(let plugin, _):
            return failure(verb, plugin: plugin)
        case .declined:
            return declined ?? accept
        case .answered(let result, _):
            switch result {
            case .declined: return declined ?? accept
            case .ok: return accept
            case .done(let reply): return Response(reply: reply, disconnect: reply.code == 421)
            case .deny(let m): return Response(deny.0, policy, m ?? deny.1)
            case .denySoft(let m): return Response(denySoft.0, policy, m ?? denySoft.1)
            case .denyDisconnect(let m):
                let (code, text) = denyDisconnect ?? deny
                return Response(code, policy, m ?? text, disconnect: true)
            case .denySoftDisconnect(let m):
                // RFC 5321 §3.8: a server that closes on its own initiative says 421.
                let (_, text) = denySoftDisconnect ?? denySoft
                return Response(421, policy, m ?? text, disconnect: true)
            }
        }
    }

    /// At connect qpsmtpd answers 550/450; RFC 5321 §3.1 wants 554 for "no service" and 421 for
    /// "try later", so we send those.
    static func connect(_ outcome: HookOutcome, greeting: String) -> Response {
        var response = map(
            outcome, verb: "connect",
            deny: (554, "Connection from you denied, bye bye."),
            denySoft: (421, "Connection from you temporarily denied, bye bye."),
            accept: Response(reply: SMTPReply(code: 220, lines: [greeting])))
        if case .failed = outcome { response = Response(421, internalError, "Internal error - try again later", disconnect: true) }
        if !response.reply.isPositive { response.disconnect = true }
        return response
    }

    /// qpsmtpd 1.00 follows a HELO DENY with a second, 451 reply (reference §1.9); we send one reply.
    static func greeting(_ outcome: HookOutcome, verb: String, accept: Response) -> Response {
        map(outcome, verb: verb, deny: (550, "\(verb) denied"), denySoft: (450, "\(verb) temporarily denied"), accept: accept)
    }

    static func mail(_ outcome: HookOutcome, sender: ReversePath) -> Response {
        let addr = sender.formatted
        return map(
            outcome, verb: "mail",
            deny: (550, "\(addr), denied"), denySoft: (450, "\(addr), temporarily denied"),
            accept: Response(250, .senderOK, "\(addr), sender OK - how exciting to get mail from you!"))
    }

    /// With no plugin deciding, the server is closed: qpsmtpd's 450 "No plugin decided".
    static func rcpt(_ outcome: HookOutcome, recipient: Mailbox) -> Response {
        map(
            outcome, verb: "rcpt",
            deny: (550, "relaying denied"), denySoft: (450, "relaying denied"),
            denyDisconnect: (550, "delivery denied"),
            declined: Response(450, EnhancedStatusCode(4, 7, 1), "No plugin decided if relaying is allowed"),
            accept: Response(250, .destinationOK, "\(recipient.formatted), recipient ok"))
    }

    static func data(_ outcome: HookOutcome) -> Response {
        map(
            outcome, verb: "data",
            deny: (554, "Message denied"), denySoft: (451, "Message denied temporarily"),
            accept: Response(reply: SMTPReply(code: 354, lines: ["go ahead"])))
    }

    /// Only the *_DISCONNECT results act here (qpsmtpd); nil means "carry on reading".
    static func dataHeadersEnd(_ outcome: HookOutcome) -> Response? {
        guard case .answered(let result, _) = outcome else { return nil }
        switch result {
        case .denyDisconnect(let m): return Response(554, policy, m ?? "Message denied", disconnect: true)
        case .denySoftDisconnect(let m): return Response(421, policy, m ?? "Message denied temporarily", disconnect: true)
        default: return nil
        }
    }

    /// Content refusals. qpsmtpd says 552/452 (storage codes); RFC 5321 §4.2.3 has 554/451 for
    /// "transaction failed" / "local error", which is what this is. nil means "go on to queue".
    static func dataPost(_ outcome: HookOutcome) -> Response? {
        switch outcome {
        case .declined: return nil
        case .answered(.ok, _), .answered(.declined, _): return nil
        default:
            return map(outcome, verb: "data", deny: (554, "Message denied"), denySoft: (451, "Message denied temporarily"), accept: Response(250, .ok, ""))
        }
    }

    /// qpsmtpd sends nothing when queue_pre denies (reference §1.9); we answer like data_post.
    static func queuePre(_ outcome: HookOutcome) -> Response? {
        dataPost(outcome)
    }

    static func queue(_ outcome: HookOutcome) -> Response {
        map(
            outcome, verb: "queue",
            deny: (554, "Message denied"), denySoft: (451, "Message denied temporarily"),
            declined: Response(451, internalError, "Queuing declined or disabled; try again later"),
            accept: Response(250, .ok, outcome.result?.message ?? "Queued"))
    }

    static func vrfy(_ outcome: HookOutcome) -> Response {
        let defaultReply = Response(252, EnhancedStatusCode(2, 5, 0), "Just try sending a mail and we'll see how it turns out ...")
        switch outcome {
        case .answered(.deny(let m), _), .answered(.denyDisconnect(let m), _):
            return Response(554, policy, m ?? "Access Denied")
        case .answered(.ok(let m), _):
            return Response(250, .destinationOK, m ?? "User OK")
        case .answered(.done(let reply), _):
            return Response(reply: reply)
        case .failed(let plugin, _):
            return failure("vrfy", plugin: plugin)
        default:
            return defaultReply
        }
    }

    static func noop(_ outcome: HookOutcome) -> Response {
        map(
            outcome, verb: "noop",
            deny: (500, "Stop wasting my time."), denySoft: (250, "OK"),
            denySoftDisconnect: (421, "Stop wasting my time."),
            accept: Response(250, .ok, "OK"))
    }

    static func help(_ outcome: HookOutcome, defaultLines: [String]) -> Response {
        switch outcome {
        case .answered(.deny(let m), _):
            return Response(500, .invalidCommand, m ?? "Syntax error, command not recognized")
        case .answered(.denyDisconnect(let m), _):
            return Response(500, .invalidCommand, m ?? "Syntax error, command not recognized", disconnect: true)
        case .answered(.done(let reply), _):
            return Response(reply: reply)
        case .failed(let plugin, _):
            return failure("help", plugin: plugin)
        default:
            let text = outcome.result?.message ?? defaultLines.joined(separator: "\n")
            return Response(214, .ok, text)
        }
    }

    /// QUIT always ends the connection, whatever the plugins say.
    static func quit(_ outcome: HookOutcome, hostName: String) -> Response {
        let defaultText = "\(hostName) closing connection. Have a wonderful day."
        if case .answered(.done(let reply), _) = outcome { return Response(reply: reply, disconnect: true) }
        return Response(221, .ok, outcome.result?.message ?? defaultText, disconnect: true)
    }

    /// qpsmtpd sends nothing for a DENY without a message; we send the default text.
    static func unrecognized(_ outcome: HookOutcome, verb: String) -> Response {
        let defaultText = "Unrecognized command"
        switch outcome {
        case .answered(.deny(let m), _): return Response(500, .invalidCommand, m ?? defaultText)
        case .answered(.denyDisconnect(let m), _): return Response(521, .invalidCommand, m ?? defaultText, disconnect: true)
        case .answered(.denySoftDisconnect(let m), _): return Response(421, EnhancedStatusCode(4, 5, 1), m ?? defaultText, disconnect: true)
        case .answered(.done(let reply), _): return Response(reply: reply)
        case .failed(let plugin, _): return failure(verb, plugin: plugin)
        default: return Response(500, .invalidCommand, defaultText)
        }
    }
}
