#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Logging
import NIOCore
import SMTPCore
import SMTPPluginAPI

/// AUTH (RFC 4954): the exchange, the checks by plugins, and the limits on failures.
extension SMTPSession {
    /// Mechanisms some plugin can check: a generic `auth` hook covers all of them (qpsmtpd).
    static func authMechanisms(_ hooks: HookRunner) -> [AuthMechanism] {
        if hooks.has(.auth) { return AuthMechanism.allCases }
        return AuthMechanism.allCases.filter { hooks.has($0.hookPoint) }
    }

    var authMechanisms: [AuthMechanism] { Self.authMechanisms(hooks) }

    func authenticate<Inbound: AsyncIteratorProtocol>(_ argument: String, inbound: inout Inbound) async throws where Inbound.Element == SMTPInboundPart {
        // The machine checked the sequence (EHLO, not yet authenticated, no transaction, TLS first
        // when required); the limits on failures are ours.
        // Every failed attempt got its 535; the attempt after the last one allowed is refused.
        if authFailures >= settings.limits.authMaxFailures {
            respond(Response(421, EnhancedStatusCode(4, 7, 0), "Too many failed authentications, closing connection", disconnect: true))
            return
        }
        // Failures an earlier process stored count too (once per key and process).
        await environment.authFailures.recall(address: connection.remoteIP)
        if environment.authFailures.isBlocked(address: connection.remoteIP, limits: settings.authFailureLimits) {
            respond(tooManyFromAddress())
            return
        }
        let words = argument.split(separator: " ", maxSplits: 1).map(String.init)
        guard let name = words.first, let mechanism = AuthMechanism(rawValue: name.uppercased()), authMechanisms.contains(mechanism) else {
            respond(Response(504, .invalidArguments, "Unrecognized authentication type"))
            return
        }
        var reader = SASLResponseReader(inbound: inbound, session: self)
        let attempt = try await credentials(mechanism, initial: words.count > 1 ? words[1] : nil, reader: &reader)
        inbound = reader.inbound
        guard let attempt else { return }  // the exchange ended with a reply already queued

        // Admitted attempts count against the shared limits while they are checked, however slow the check.
        await environment.authFailures.recall(address: connection.remoteIP, account: attempt.user)
        let ticket: AuthFailureTracker.Ticket
        switch environment.authFailures.begin(address: connection.remoteIP, account: attempt.user, limits: settings.authFailureLimits) {
        case .success(let admitted):
            ticket = admitted
        case .failure(.address):
            finishExchange(authenticated: false)
            respond(tooManyFromAddress())
            return
        case .failure(.account):
            // Temporary, and given whatever the password: the right one must not be told apart.
            logger.notice("AUTH \(attempt.mechanism.rawValue) refused for \(attempt.user): too many recent failures for this account")
            finishExchange(authenticated: false)
            respond(Response(454, EnhancedStatusCode(4, 7, 0), "Too many failed authentications for this account, try again later"))
            return
        }
        var outcome = await hooks.run(mechanism.hookPoint, call(.auth(attempt)))
        if case .declined = outcome { outcome = await hooks.run(.auth, call(.auth(attempt))) }
        let failed = await answer(outcome, for: attempt)
        environment.authFailures.finish(ticket, failed: failed)
    }

    /// Ends the exchange without credentials, with this reply.
    func endExchange(_ response: Response) {
        finishExchange(authenticated: false)
        respond(response)
    }

    /// Tells the machine the exchange ended; call before queuing the final reply.
    func finishExchange(authenticated: Bool) {
        if machine.state == .saslExchange || authenticated { machine.apply(.saslFinished(authenticated: authenticated)) }
    }

    private func tooManyFromAddress() -> Response {
        Response(421, EnhancedStatusCode(4, 7, 0), "Too many failed authentications from \(connection.remoteIP), try again later", disconnect: true)
    }

    /// Answers the attempt; true when it failed (wrong credentials, not a temporary problem).
    private func answer(_ outcome: HookOutcome, for attempt: AuthAttempt) async -> Bool {
        switch outcome {
        case .answered(.ok, _):
            finishExchange(authenticated: true)
            connection.authUser = attempt.user
            connection.authMechanism = attempt.mechanism.rawValue
            connection.isRelayClient = true
            connection[note: .naughty] = nil
            logger.info("AUTH \(attempt.mechanism.rawValue) succeeded for \(attempt.user)")
            respond(Response(235, EnhancedStatusCode(2, 7, 0), "Authentication successful"))
            return false
        case .answered(.done(let reply), _):
            finishExchange(authenticated: false)
            respond(Response(reply: reply))
            return reply.code >= 500
        case .answered(.denySoft(let m), _), .answered(.denySoftDisconnect(let m), _):
            finishExchange(authenticated: false)
            respond(Response(454, EnhancedStatusCode(4, 7, 0), m ?? "Temporary authentication failure"))
            return false
        case .failed:
            finishExchange(authenticated: false)
            respond(Response(454, EnhancedStatusCode(4, 7, 0), "Temporary authentication failure"))
            return false
        default:
            authFailures += 1
            logger.notice("AUTH \(attempt.mechanism.rawValue) failed for \(attempt.user) (\(authFailures) on this connection)")
            // A delay that doubles with each failure makes guessing slow. Each failure is told
            // as a failure (535): a client such as smtplib tries three mechanisms in a row, and
            // a user with a typo must read "authentication failed", not a ban.
            let delay = settings.limits.authFailureDelay * (1 << min(authFailures - 1, 4))
            if delay > .zero { try? await Task.sleep(for: delay) }
            finishExchange(authenticated: false)
            respond(Response(535, EnhancedStatusCode(5, 7, 8), "Authentication credentials invalid"))
            return true
        }
    }

    /// Runs the mechanism's exchange. Nil when it ended without credentials (the reply is queued).
    private func credentials<Inbound>(_ mechanism: AuthMechanism, initial: String?, reader: inout SASLResponseReader<Inbound>) async throws -> AuthAttempt? {
        switch mechanism {
        case .plain:
            guard let response = try await reader.response(initial: initial, prompt: "") else { return nil }
            // authzid NUL authcid NUL passwd (RFC 4616)
            let parts = response.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard parts.count == 3, !parts[1].isEmpty else {
                endExchange(Response(501, .syntaxError, "Malformed PLAIN response"))
                return nil
            }
            guard parts[0].isEmpty || parts[0] == parts[1] else {
                endExchange(Response(535, EnhancedStatusCode(5, 7, 8), "Authentication invalid for \(parts[1])"))
                return nil
            }
            return AuthAttempt(mechanism: .plain, user: parts[1], password: parts[2])
        case .login:
            guard let user = try await reader.response(initial: initial, prompt: "VXNlcm5hbWU6") else { return nil }
            guard let password = try await reader.response(initial: nil, prompt: "UGFzc3dvcmQ6") else { return nil }
            return AuthAttempt(mechanism: .login, user: String(decoding: user, as: UTF8.self), password: String(decoding: password, as: UTF8.self))
        case .cramMD5:
            // RFC 2195: a unique challenge in msg-id form; random part and time, as qpsmtpd does.
            let challenge = "<\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).\(String(time(nil), radix: 16))@\(settings.hostName)>"
            guard initial == nil else {
                endExchange(Response(501, .syntaxError, "CRAM-MD5 takes no initial response"))
                return nil
            }
            guard let response = try await reader.response(initial: nil, prompt: Data(challenge.utf8).base64EncodedString()) else { return nil }
            // "user SP digest", the digest being 32 lowercase hex digits (RFC 2195)
            let text = String(decoding: response, as: UTF8.self)
            guard let space = text.lastIndex(of: " "), text.distance(from: text.index(after: space), to: text.endIndex) == 32 else {
                endExchange(Response(501, .syntaxError, "Malformed CRAM-MD5 response"))
                return nil
            }
            return AuthAttempt(mechanism: .cramMD5, user: String(text[..<space]), digest: text[text.index(after: space)...].lowercased(), challenge: challenge)
        }
    }
}
