import CCrypt
import Crypto
public import Logging
public import SMTPPluginAPI

/// A password as an auth backend stores it.
public enum StoredPassword: Sendable, Hashable, CustomStringConvertible {
    /// The password itself (qpsmtpd's `src_clear`); the only form CRAM-MD5 can check.
    case clear(String)
    /// A crypt(3) hash (qpsmtpd's `src_crypt`): `$y$` yescrypt, `$2b$` bcrypt, `$6$` SHA-512-crypt,
    /// `$5$`, `$1$`, ... whatever this machine's libxcrypt supports.
    case crypt(String)

    /// Reads a stored value: `{PLAIN}secret` and `{CRYPT}hash` say which it is (Dovecot's
    /// scheme prefixes; `{PLAIN}` also lets a clear password start with `$6$`); otherwise a value
    /// that starts like a crypt(3) hash is one, and anything else is a clear password, as in
    /// qpsmtpd's flat files.
    public init(parsing stored: String) {
        if stored.hasPrefix("{PLAIN}") {
            self = .clear(String(stored.dropFirst(7)))
        } else if stored.hasPrefix("{CRYPT}") {
            self = .crypt(String(stored.dropFirst(7)))
        } else if Self.looksLikeCryptHash(stored) {
            self = .crypt(stored)
        } else {
            self = .clear(stored)
        }
    }

    /// The `$id$` (or `$id,`) prefixes of the methods libxcrypt knows. A 13-character
    /// traditional DES hash is not guessed (it looks like any password): write `{CRYPT}` before it.
    private static let cryptPrefixes = ["$y$", "$gy$", "$7$", "$2b$", "$2a$", "$2y$", "$2x$", "$6$", "$5$", "$1$", "$sha1$", "$md5$", "$md5,"]

    static func looksLikeCryptHash(_ value: String) -> Bool {
        cryptPrefixes.contains { value.hasPrefix($0) } && value.count > 10
    }

    public var description: String {
        switch self {
        case .clear: return "clear(<redacted>)"
        case .crypt(let hash): return "crypt(\(hash.split(separator: "$", omittingEmptySubsequences: true).first ?? "?"))"
        }
    }
}

/// The password check every auth backend shares: qpsmtpd's `Qpsmtpd::Auth::validate_password`.
/// A clear attempt (PLAIN, LOGIN) is compared with a clear password or hashed with crypt(3) and
/// compared with a stored hash; a CRAM-MD5 digest is compared with HMAC-MD5(challenge, clear
/// password). Every comparison takes the same time whatever the bytes are.
public enum AuthPasswordCheck {
    public enum Verdict: Sendable, Hashable {
        case match
        case mismatch
        /// This attempt cannot be checked against this password (CRAM-MD5 against a hash, no
        /// challenge): another plugin may be able to.
        case cannotCheck(String)
        /// The stored hash could not be used (unknown or disabled method, malformed).
        case failed(String)
    }

    /// Checks `attempt` against `stored`. crypt(3) is slow on purpose (tens to hundreds of
    /// milliseconds), so it runs on `blocking`, never on a session thread.
    public static func check(
        _ attempt: AuthAttempt, against stored: StoredPassword, blocking: any BlockingWorkRunner
    ) async throws -> Verdict {
        switch attempt.mechanism {
        case .cramMD5:
            guard case .clear(let password) = stored else {
                return .cannotCheck("cram-md5 not supported without a clear-text password")
            }
            guard let challenge = attempt.challenge, !challenge.isEmpty else { return .cannotCheck("missing ticket") }
            guard let digest = attempt.digest else { return .mismatch }
            let expected = cramMD5Digest(challenge: challenge, password: password)
            return constantTimeEqual(Array(expected.utf8), Array(digest.lowercased().utf8)) ? .match : .mismatch
        case .plain, .login:
            guard let password = attempt.password else { return .mismatch }
            switch stored {
            case .clear(let storedPassword):
                return constantTimeEqual(Array(storedPassword.utf8), Array(password.utf8)) ? .match : .mismatch
            case .crypt(let hash):
                // A C string ends at the first NUL: "secret\0anything" must not pass as "secret".
                guard !password.utf8.contains(0) else { return .mismatch }
                let computed = try await blocking.run { cryptHash(password, setting: hash) }
                guard let computed else { return .failed("cannot use the stored hash (method not supported here?)") }
                return constantTimeEqual(Array(computed.utf8), Array(hash.utf8)) ? .match : .mismatch
            }
        }
    }

    /// qpsmtpd's answers for a verdict, `label` being the plugin's file name
    /// (`auth_flat_file`): OK `label`, DENY `label - wrong password`, DECLINED when the attempt
    /// cannot be checked here. A broken hash is a temporary failure: the fix is on our side.
    public static func result(_ verdict: Verdict, label: String, logger: Logger) -> HookResult {
        switch verdict {
        case .match:
            logger.info("pass: password match")
            return .ok(label)
        case .mismatch:
            logger.info("fail: wrong password")
            return .deny("\(label) - wrong password")
        case .cannotCheck(let why):
            logger.info("skip: \(why)")
            return .declined
        case .failed(let why):
            logger.error("error: \(why)")
            return .denySoft("\(label) - cannot check the password now")
        }
    }

    /// The CRAM-MD5 response digest (RFC 2195): HMAC-MD5 keyed with the password over the
    /// challenge, lowercase hex.
    public static func cramMD5Digest(challenge: String, password: String) -> String {
        let mac = HMAC<Insecure.MD5>.authenticationCode(for: Array(challenge.utf8), using: SymmetricKey(data: Array(password.utf8)))
        return hex(Array(mac))
    }

    /// crypt(3) of `password` with the method and salt of `setting` (a stored hash works), or nil
    /// when this libxcrypt cannot use that setting. Blocking and slow: call it on a worker thread.
    public static func cryptHash(_ password: String, setting: String) -> String? {
        var out = [CChar](repeating: 0, count: Int(CCRYPT_OUTPUT_SIZE))
        let rc = out.withUnsafeMutableBufferPointer { buffer in
            ccrypt_hash(password, setting, buffer.baseAddress, buffer.count)
        }
        guard rc == 0 else { return nil }
        return String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether this machine's libxcrypt can check `hash` (known, enabled method, well formed).
    /// Legacy methods (DES, MD5-crypt) count as usable.
    public static func canCheck(hash: String) -> Bool {
        let rc = ccrypt_check_setting(hash)
        return rc == 0 || rc == 1
    }

    /// Compares without an early exit, so the time taken says nothing about where the inputs
    /// differ. Only the lengths can leak, through the loop count.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
