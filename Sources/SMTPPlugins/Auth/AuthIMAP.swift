#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPPluginAPI

/// `auth/auth_imap host [port]`: a user is who the IMAP server (port 143 by default) lets log in
/// with `LOGIN user password`. OK accepts, NO refuses; a server that cannot be reached, says
/// `BYE`, answers `BAD` or `NO [UNAVAILABLE]`, or takes longer than 10 seconds is a temporary
/// failure (qpsmtpd: DECLINED). PLAIN and LOGIN only. No TLS: point it at a server on this
/// machine or a trusted network, since the password crosses the wire in the clear.
public struct AuthIMAP: SMTPPlugin {
    public static let registeredHooks: [HookPoint] = [.authPlain, .authLogin]

    static let label = "auth_imap"
    let host: String
    let port: Int
    var timeout: Duration = .seconds(10)
    private let logger: Logger
    private let blocking: any BlockingWorkRunner

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
        blocking = context.services.blocking
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
        let (host, port, timeout, user) = (self.host, self.port, self.timeout, attempt.user)
        let outcome = try await blocking.run {
            IMAPLoginClient.login(host: host, port: port, user: user, password: password, timeout: timeout)
        }
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

// The class below has its own close() and send(); these reach the C library's.
private func posixClose(_ fd: Int32) { _ = close(fd) }
private func posixSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int { send(fd, bytes, count, flags) }

/// Just enough of an IMAP client (RFC 3501) for one LOGIN.
///
/// Why blocking BSD sockets: plugins never import NIO (the engine's rule), and Foundation has no
/// plain TCP client on Linux. One login is one short exchange, so a blocking socket with
/// SO_RCVTIMEO/SO_SNDTIMEO, run on the plugin's BlockingWorkRunner and never on a session thread,
/// is simple and sufficient.
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

    static func login(host: String, port: Int, user: String, password: String, timeout: Duration) -> Outcome {
        do {
            let connection = try Connection(host: host, port: port, timeout: timeout)
            defer { connection.close() }
            return try connection.login(user: Array(user.utf8), password: Array(password.utf8))
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

    final class Connection {
        private let fd: Int32
        private let deadline: ContinuousClock.Instant
        private var buffer: [UInt8] = []
        private static let maximumLine = 65536

        init(host: String, port: Int, timeout: Duration) throws {
            deadline = ContinuousClock.now.advanced(by: timeout)
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #else
            hints.ai_socktype = SOCK_STREAM
            #endif
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &list)
            guard rc == 0, let first = list else {
                throw Failure(reason: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
            }
            defer { freeaddrinfo(first) }
            var lastError: Int32 = 0
            var candidate: UnsafeMutablePointer<addrinfo>? = first
            while let info = candidate {
                candidate = info.pointee.ai_next
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                guard fd >= 0 else {
                    lastError = errno
                    continue
                }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                // On Linux the send timeout bounds connect() too.
                Self.setTimeout(fd, timeout)
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    self.fd = fd
                    return
                }
                lastError = errno
                posixClose(fd)
            }
            throw Failure(reason: "cannot connect: \(String(cString: strerror(lastError)))")
        }

        private static func setTimeout(_ fd: Int32, _ timeout: Duration) {
            let (seconds, attoseconds) = timeout.components
            var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            let size = socklen_t(MemoryLayout<timeval>.size)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, size)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, size)
        }

        func close() {
            posixClose(fd)
        }

        func login(user: [UInt8], password: [UInt8]) throws -> Outcome {
            let greeting = try readLine()
            if greeting.hasPrefix("* BYE") { throw Failure(reason: "greeting: \(greeting)") }
            guard greeting.hasPrefix("* OK") || greeting.hasPrefix("* PREAUTH") else {
                throw Failure(reason: "unexpected greeting: \(greeting.prefix(200))")
            }
            // `a1 LOGIN user password`, each argument quoted, or sent as a synchronising literal
            // (`{n}`, wait for `+`, then the bytes) when it has 8-bit characters.
            var pending = Array("a1 LOGIN ".utf8)
            for (index, argument) in [user, password].enumerated() {
                if let quoted = Self.quotedArgument(argument) {
                    pending += quoted
                } else {
                    pending += Array("{\(argument.count)}\r\n".utf8)
                    try send(pending)
                    if let early = try awaitContinuation() { return early }
                    pending = argument
                }
                pending += index == 0 ? [UInt8(ascii: " ")] : Array("\r\n".utf8)
            }
            try send(pending)
            while true {
                let line = try readLine()
                if line.hasPrefix("* BYE") { throw Failure(reason: line) }
                if line.hasPrefix("*") || line.hasPrefix("+") { continue }
                guard let result = Self.taggedResult(line) else {
                    throw Failure(reason: "unexpected reply: \(line.prefix(200))")
                }
                // Polite, not needed: the answer is in.
                try? send(Array("a2 LOGOUT\r\n".utf8))
                return result
            }
        }

        private static func quotedArgument(_ value: [UInt8]) -> [UInt8]? { IMAPLoginClient.quoted(value) }

        /// Waits for the `+` that invites a literal; a tagged answer instead ends the login.
        private func awaitContinuation() throws -> Outcome? {
            while true {
                let line = try readLine()
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

        private func send(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)
                #else
                let flags: Int32 = 0
                #endif
                let n = bytes.withUnsafeBytes { posixSend(fd, $0.baseAddress! + offset, $0.count - offset, flags) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(reason: "send: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }

        /// One line without its CRLF. The socket's receive timeout bounds each wait, the deadline the whole login.
        private func readLine() throws -> String {
            while true {
                if let end = buffer.firstIndex(of: 10) {
                    var line = Array(buffer[..<end])
                    buffer.removeSubrange(...end)
                    if line.last == 13 { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                guard buffer.count < Self.maximumLine else { throw Failure(reason: "reply line too long") }
                guard ContinuousClock.now < deadline else { throw Failure(reason: "timed out") }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(reason: "timed out") }
                    throw Failure(reason: "recv: \(String(cString: strerror(errno)))")
                }
                if n == 0 { throw Failure(reason: "connection closed") }
                buffer += chunk[..<n]
            }
        }
    }
}
