import Logging
public import SMTPPluginAPI

/// `auth/auth_imap host [port]`: a user is who the IMAP server (port 143 by default) lets log in
/// with `LOGIN user password`. OK accepts, NO refuses; a server that cannot be reached, says
/// `BYE`, answers `BAD` or `NO [UNAVAILABLE]`, or takes longer than 10 seconds is a temporary
/// failure (qpsmtpd: DECLINED). PLAIN and LOGIN only. No TLS: point it at a server on this
/// machine or a trusted network, since the password crosses the wire in the clear.
public struct AuthIMAP: SMTPPlugin {
    static let label = "auth_imap"
    let host: String
    let port: Int
    var timeout: Duration = .seconds(10)
    private let logger: Logger
    private let connector: any OutboundConnector

    public init(context: PluginContext) throws {
        guard let host = context.arguments.positional(0), !host.isEmpty else {
            throw PluginArgumentError("No IMAP server specified in plugin config")
        }
        self.host = host
        if let word = context.arguments.positional(1) {
            guard let port = Int(word), (1...65535).contains(port) else {
                throw PluginArgumentError("port must be a number from 1 to 65535, not '\(word)'")
            }
            self.port = port
        } else {
            port = 143
        }
        logger = context.logger
        connector = context.services.connector
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onAuth([.plain, .login]) { _, attempt in
            try await authenticate(attempt)
        }
    }

    func authenticate(_ attempt: AuthAttempt) async throws -> HookResult {
        guard let password = attempt.password else { return .declined }
        // No IMAP string can carry these (RFC 3501 §4.3 and §9 `CHAR8`), so no real account has them.
        let forbidden: Set<UInt8> = [0, 10, 13]
        guard !attempt.user.utf8.contains(where: forbidden.contains), !password.utf8.contains(where: forbidden.contains) else {
            logger.info("fail: CR, LF or NUL in the user name or password")
            return .deny(Self.label)
        }
        logger.info("authenticating \(attempt.user) against IMAP server \(host):\(port)")
        let outcome = await IMAPLoginClient.login(
            connector: connector, host: host, port: port, user: attempt.user, password: password,
            deadline: .now.advanced(by: timeout))
        switch outcome {
        case .accepted:
            logger.info("pass: \(attempt.user)")
            return .ok(Self.label)
        case .refused(let text):
            logger.info("fail: \(attempt.user): \(text)")
            return .deny(Self.label)
        case .unavailable(let why):
            logger.error("IMAP server \(host):\(port): \(why)")
            return .denySoft("\(Self.label) - authentication server unavailable")
        }
    }
}

/// Just enough of an IMAP client (RFC 3501) for one LOGIN, over the engine's outbound connector.
enum IMAPLoginClient {
    enum Outcome: Sendable, Hashable {
        case accepted
        /// The server's `NO` text.
        case refused(String)
        case unavailable(String)
    }

    struct Failure: Error {
        var reason: String
    }

    /// Longest server line we read: a greeting or capability list is far shorter.
    static let maximumLine = 65536

    static func login(
        connector: any OutboundConnector, host: String, port: Int, user: String, password: String, deadline: ContinuousClock.Instant
    ) async -> Outcome {
        do {
            let connection = Connection(try await connector.connect(to: .tcp(host: host, port: port), deadline: deadline))
            do {
                let outcome = try await connection.login(user: Array(user.utf8), password: Array(password.utf8))
                await connection.close()
                return outcome
            } catch {
                await connection.close()
                throw error
            }
        } catch let failure as Failure {
            return .unavailable(failure.reason)
        } catch {
            return .unavailable("\(error)")
        }
    }

    /// A quoted string (`"` and `\` escaped) when the value is 7-bit; otherwise nil, and the
    /// value must go as a literal. CR, LF and NUL are refused before we get here.
    static func quoted(_ value: [UInt8]) -> [UInt8]? {
        guard value.allSatisfy({ $0 < 0x80 && $0 != 0 && $0 != 10 && $0 != 13 }) else { return nil }
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in value {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// One LOGIN exchange; the connection's deadline bounds all of it.
    struct Connection {
        let connection: any OutboundConnection

        init(_ connection: any OutboundConnection) {
            self.connection = connection
        }

        func close() async {
            await connection.close()
        }

        func login(user: [UInt8], password: [UInt8]) async throws -> Outcome {
            let greeting = try await readLine()
            if greeting.hasPrefix("* BYE") { throw Failure(reason: "greeting: \(greeting)") }
            guard greeting.hasPrefix("* OK") || greeting.hasPrefix("* PREAUTH") else {
                throw Failure(reason: "unexpected greeting: \(greeting.prefix(200))")
            }
            // `a1 LOGIN user password`, each argument quoted, or sent as a synchronising literal
            // (`{n}`, wait for `+`, then the bytes) when it has 8-bit characters.
            var pending = Array("a1 LOGIN ".utf8)
            for (index, argument) in [user, password].enumerated() {
                if let quoted = IMAPLoginClient.quoted(argument) {
                    pending += quoted
                } else {
                    pending += Array("{\(argument.count)}\r\n".utf8)
                    try await connection.write(pending)
                    if let early = try await awaitContinuation() { return early }
                    pending = argument
                }
                pending += index == 0 ? [UInt8(ascii: " ")] : Array("\r\n".utf8)
            }
            try await connection.write(pending)
            while true {
                let line = try await readLine()
                if line.hasPrefix("* BYE") { throw Failure(reason: line) }
                if line.hasPrefix("*") || line.hasPrefix("+") { continue }
                guard let result = Self.taggedResult(line) else {
                    throw Failure(reason: "unexpected reply: \(line.prefix(200))")
                }
                // Polite, not needed: the answer is in.
                try? await connection.write("a2 LOGOUT\r\n")
                return result
            }
        }

        /// Waits for the `+` that invites a literal; a tagged answer instead ends the login.
        private func awaitContinuation() async throws -> Outcome? {
            while true {
                let line = try await readLine()
                if line.hasPrefix("+") { return nil }
                if line.hasPrefix("* BYE") { throw Failure(reason: line) }
                if line.hasPrefix("*") { continue }
                if let result = Self.taggedResult(line) { return result }
                throw Failure(reason: "unexpected reply: \(line.prefix(200))")
            }
        }

        /// `a1 OK ...`, `a1 NO ...`, `a1 BAD ...`; nil for anything else.
        static func taggedResult(_ line: String) -> Outcome? {
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard words.count >= 2, words[0] == "a1" else { return nil }
            let text = words.count > 2 ? String(words[2]) : ""
            switch words[1].uppercased() {
            case "OK": return .accepted
            case "NO":
                // RFC 5530: the server could not check right now; the password may well be right.
                if text.uppercased().hasPrefix("[UNAVAILABLE]") || text.uppercased().hasPrefix("[SERVERBUG]") {
                    return .unavailable("NO \(text)")
                }
                return .refused(text)
            case "BAD": return .unavailable("BAD \(text)")
            default: return nil
            }
        }

        private func readLine() async throws -> String {
            try await connection.readLine(maxLength: IMAPLoginClient.maximumLine)
        }
    }
}
