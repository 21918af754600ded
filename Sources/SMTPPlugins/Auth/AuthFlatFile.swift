import Logging
public import SMTPPluginAPI

/// `auth/auth_flat_file`: users and passwords from config file `flat_auth_pw`, one
/// `user@domain:password` a line. The password may be clear text (as in qpsmtpd) or a crypt(3)
/// hash (`$y$`, `$2b$`, `$6$`, `$5$`, ...; see `StoredPassword`). PLAIN and LOGIN work with
/// both; CRAM-MD5 only with a clear password, and declines for a hashed one.
///
/// Unknown users and names without `@` are DECLINED (another plugin may know them); a wrong
/// password is DENY `auth_flat_file - wrong password`. The file is read when the plugin loads
/// (start-up and each SIGHUP, which creates the plugin anew), never during a session.
public struct AuthFlatFile: SMTPPlugin {
    static let label = "auth_flat_file"
    /// Lowercased user and password, in file order: the first line for a user wins.
    private let accounts: [(user: String, password: StoredPassword)]
    private let logger: Logger
    private let blocking: any BlockingWorkRunner

    public init(context: PluginContext) throws {
        logger = context.logger
        blocking = context.services.blocking
        var accounts: [(user: String, password: StoredPassword)] = []
        for line in context.config.entries("flat_auth_pw") {
            guard let colon = line.text.firstIndex(of: ":") else {
                context.logger.warning("\(line.file):\(line.lineNumber): no ':' between user and password")
                continue
            }
            let password = StoredPassword(parsing: String(line.text[line.text.index(after: colon)...]))
            // Say at start-up, not at the first login, that a hash cannot be checked here.
            if case .crypt(let hash) = password, !AuthPasswordCheck.canCheck(hash: hash) {
                context.logger.error("\(line.file):\(line.lineNumber): this system's crypt(3) cannot check that hash")
            }
            accounts.append((line.text[..<colon].lowercased(), password))
        }
        self.accounts = accounts
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onAuth([.plain, .login, .cramMD5]) { _, attempt in
            try await authenticate(attempt)
        }
    }

    func authenticate(_ attempt: AuthAttempt) async throws -> HookResult {
        if attempt.password == nil && attempt.digest == nil {
            logger.info("fail: missing password")
            return .deny("authflat - missing password")
        }
        let user = attempt.user.lowercased()
        guard user.contains("@") else {
            logger.info("fail: no domain")
            return .declined
        }
        guard let stored = lookup(user) else {
            logger.info("fail: no such user: \(attempt.user)")
            return .declined
        }
        let verdict = try await AuthPasswordCheck.check(attempt, against: stored, blocking: blocking)
        return AuthPasswordCheck.result(verdict, label: Self.label, logger: logger)
    }

    /// The first line whose user matches, case-insensitively (qpsmtpd lowercases and greps `/^user:/i`).
    private func lookup(_ user: String) -> StoredPassword? {
        accounts.first { $0.user == user }?.password
    }
}
