import SMTPCore
import SMTPPluginAPI

/// The config-derived facts a session needs, read once per (re)load instead of per command.
public struct SessionSettings: Sendable {
    public static let version = "0.1.0"

    /// Config `me`: our name in the greeting, HELO reply, Received and QUIT.
    public var hostName: String
    /// Config `smtpgreeting`, replacing the greeting text.
    public var greeting: String?
    public var limits: SMTPLimits
    /// Config `spool_dir`.
    public var spoolDirectory: String
    /// How long one plugin may take at one hook. Config `plugin_timeout` (seconds).
    public var hookTimeout: Duration
    /// Config `tls_before_auth`: AUTH is neither offered nor accepted before TLS.
    public var tlsBeforeAuth = false
    /// Failed AUTH attempts on one connection before it is closed (`auth_max_failures`).
    public var authMaxFailures = 3
    /// Failed AUTH attempts from one address within 10 minutes before it is turned away (`auth_max_failures_per_ip`).
    public var authMaxFailuresPerIP = 10
    /// Failed AUTH attempts for one account, from anywhere, within 10 minutes before further
    /// attempts for it are refused with 454 (`auth_max_failures_per_user`).
    public var authMaxFailuresPerUser = 20
    /// First delay after a failed AUTH, doubling with each further failure (`auth_failure_delay`, seconds).
    public var authFailureDelay: Duration = .seconds(1)

    public init(hostName: String, greeting: String? = nil, limits: SMTPLimits = SMTPLimits(), spoolDirectory: String, hookTimeout: Duration = .seconds(120)) {
        self.hostName = hostName
        self.greeting = greeting
        self.limits = limits
        self.spoolDirectory = spoolDirectory
        self.hookTimeout = hookTimeout
    }

    /// Reads the qmail-style files; missing files keep the defaults.
    public init(config: any ConfigStore, defaultHostName: String, defaultSpoolDirectory: String) {
        var limits = SMTPLimits()
        if let v = config.integer("max_line_length"), v >= 512 { limits.maxCommandLineLength = v }
        if let v = config.integer("max_data_line_length"), v >= 0 { limits.maxDataLineLength = v == 0 ? Int.max : v }
        if let v = config.integer("max_rcpt"), v > 0 { limits.maxRecipients = v }
        if let v = config.integer("databytes"), v >= 0 { limits.maxMessageSize = v }
        // qmail's timeoutsmtpd takes precedence between commands; one timeout serves both here.
        if let v = config.integer("timeoutsmtpd") ?? config.integer("timeout"), v > 0 { limits.commandTimeout = .seconds(v) }
        if let v = config.integer("min_data_rate"), v >= 0 { limits.minDataRate = v }
        if let v = config.integer("stress_timeout"), v > 0 { limits.stressTimeout = .seconds(v) }
        if let v = config.integer("max_header_size"), v > 0 { limits.maxHeaderSize = v }
        if let v = config.integer("size_threshold"), v >= 0 { limits.spoolMemoryThreshold = v }
        if let v = config.integer("max_commands"), v > 0 { limits.maxCommandsPerSession = v }
        self.init(
            hostName: config.value("me") ?? defaultHostName,
            greeting: config.value("smtpgreeting"),
            limits: limits,
            spoolDirectory: config.value("spool_dir") ?? defaultSpoolDirectory,
            hookTimeout: .seconds(config.integer("plugin_timeout").flatMap { $0 > 0 ? $0 : nil } ?? 120))
        tlsBeforeAuth = config.flag("tls_before_auth")
        if let v = config.integer("auth_max_failures"), v > 0 { authMaxFailures = v }
        if let v = config.integer("auth_max_failures_per_ip"), v >= 0 { authMaxFailuresPerIP = v }
        if let v = config.integer("auth_max_failures_per_user"), v >= 0 { authMaxFailuresPerUser = v }
        if let v = config.value("auth_failure_delay").flatMap(Double.init), v >= 0 { authFailureDelay = .milliseconds(Int(v * 1000)) }
    }

    /// The shared AUTH failure limits, as configured now.
    public var authFailureLimits: AuthFailureTracker.Limits {
        AuthFailureTracker.Limits(perAddress: authMaxFailuresPerIP, perAccount: authMaxFailuresPerUser)
    }

    /// The 220 line: config `smtpgreeting` (with ESMTP added when missing) or qpsmtpd's text.
    public var greetingText: String {
        if let greeting {
            return greeting.contains("ESMTP") ? greeting : greeting + " ESMTP"
        }
        return "\(hostName) ESMTP qpsmtpd \(Self.version) ready; send us your mail, but not your spam."
    }
}
