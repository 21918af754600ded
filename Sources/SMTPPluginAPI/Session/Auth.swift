/// The SASL mechanisms the core speaks (RFC 4954 with PLAIN, LOGIN and CRAM-MD5).
public enum AuthMechanism: String, Sendable, CaseIterable, Hashable {
    case plain = "PLAIN"
    case login = "LOGIN"
    case cramMD5 = "CRAM-MD5"

    public var hookPoint: HookPoint {
        switch self {
        case .plain: return .authPlain
        case .login: return .authLogin
        case .cramMD5: return .authCramMD5
        }
    }
}

/// One authentication attempt, as the auth hooks see it (qpsmtpd's `$mech, $user, $passClear,
/// $passHash, $ticket`). Its description never shows the secret, so it is safe to log.
public struct AuthAttempt: Sendable, Hashable, CustomStringConvertible {
    public var mechanism: AuthMechanism
    public var user: String
    /// The password, for PLAIN and LOGIN.
    public var password: String?
    /// CRAM-MD5: the client's HMAC-MD5 of `challenge`, lowercase hex.
    public var digest: String?
    /// CRAM-MD5: the challenge we sent.
    public var challenge: String?

    public init(mechanism: AuthMechanism, user: String, password: String? = nil, digest: String? = nil, challenge: String? = nil) {
        self.mechanism = mechanism
        self.user = user
        self.password = password
        self.digest = digest
        self.challenge = challenge
    }

    public var description: String { "AuthAttempt(\(mechanism.rawValue), user: \(user), secret: <redacted>)" }
}

/// Where STARTTLS and implicit-TLS listeners find their certificate, as the `tls` plugin declares it.
public struct TLSSettings: Sendable, Hashable {
    /// PEM certificate chain, leaf first.
    public var certificatePath: String
    public var privateKeyPath: String
    /// CA bundle sent along the chain, if any.
    public var caPath: String?
    /// OpenSSL cipher string for TLS 1.2 and below (config `tls_ciphers`); nil keeps the library's choice.
    public var ciphers: String?
    /// Lowest protocol version allowed: "1.2" or "1.3" (from `tls_protocols`); nil = TLS 1.2.
    public var minimumVersion: String?

    public init(certificatePath: String, privateKeyPath: String, caPath: String? = nil, ciphers: String? = nil, minimumVersion: String? = nil) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.caPath = caPath
        self.ciphers = ciphers
        self.minimumVersion = minimumVersion
    }
}
