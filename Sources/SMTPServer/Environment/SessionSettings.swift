public import SMTPCore
public import SMTPPluginAPI

/// The config-derived facts a session needs, read once per (re)load instead of per command.
public struct SessionSettings: Sendable {
    public static let version = "0.1.0"

    /// Config `me`: our name in the greeting, HELO reply, Received and QUIT.
    public var hostName: String
    /// Config `smtpgreeting`, replacing the greeting text.
    public var greeting: String?
    /// Every limit, as configured (`SMTPLimits` has the defaults and their reasons).
    public var limits: SMTPLimits
    /// Config `spool_dir`.
    public var spoolDirectory: String
    /// Config `tls_before_auth`: AUTH is neither offered nor accepted before TLS.
    public var tlsBeforeAuth = false

    public init(hostName: String, greeting: String? = nil, limits: SMTPLimits = .defaults, spoolDirectory: String) {
        self.hostName = hostName
        self.greeting = greeting
        self.limits = limits
        self.spoolDirectory = spoolDirectory
    }

    /// Reads the qmail-style files; missing or out-of-range values keep the defaults.
    public init(config: any ConfigStore, defaultHostName: String, defaultSpoolDirectory: String) {
        self.init(
            hostName: config.value("me") ?? defaultHostName,
            greeting: config.value("smtpgreeting"),
            limits: Self.limits(from: config),
            spoolDirectory: config.value("spool_dir") ?? defaultSpoolDirectory)
        tlsBeforeAuth = config.flag("tls_before_auth")
    }

    /// The one place config files become limits.
    public static func limits(from config: any ConfigStore) -> SMTPLimits {
        var limits = SMTPLimits.defaults
        func seconds(_ name: String) -> Duration? {
            config.value(name).flatMap(Double.init).flatMap { $0 >= 0 ? .milliseconds(Int64($0 * 1000)) : nil }
        }
        // Never below RFC 5321's 512 octets.
        if let v = config.integer("max_line_length"), v >= SMTPLimits.defaults.maxCommandLineLength { limits.maxCommandLineLength = v }
        if let v = config.integer("max_data_line_length"), v >= 0 { limits.maxDataLineLength = v == 0 ? Int.max : v }
        if let v = config.integer("max_rcpt"), v > 0 { limits.maxRecipients = v }
        if let v = config.integer("databytes"), v >= 0 { limits.maxMessageSize = v }
        if let v = config.integer("max_header_size"), v > 0 { limits.maxHeaderSize = v }
        if let v = config.integer("size_threshold"), v >= 0 { limits.spoolMemoryThreshold = v }
        if let v = config.integer("max_commands"), v > 0 { limits.maxCommandsPerSession = v }
        // qmail's timeoutsmtpd takes precedence between commands; one timeout serves both here.
        if let v = config.integer("timeoutsmtpd") ?? config.integer("timeout"), v > 0 { limits.commandTimeout = .seconds(v) }
        if let v = config.integer("min_data_rate"), v >= 0 { limits.minDataRate = v }
        if let v = config.integer("stress_timeout"), v > 0 { limits.stressTimeout = .seconds(v) }
        if let v = config.integer("plugin_timeout"), v > 0 { limits.pluginTimeout = .seconds(v) }
        if let v = config.integer("max_connections"), v >= 0 { limits.maxConnections = v }
        if let v = config.integer("max_connections_per_ip"), v >= 0 { limits.maxConnectionsPerIP = v }
        if let v = config.integer("stress_threshold"), (0...100).contains(v) { limits.stressThreshold = v }
        if let v = config.integer("auth_max_failures"), v > 0 { limits.authMaxFailures = v }
        if let v = config.integer("auth_max_failures_per_ip"), v >= 0 { limits.authMaxFailuresPerIP = v }
        if let v = config.integer("auth_max_failures_per_user"), v >= 0 { limits.authMaxFailuresPerUser = v }
        if let v = seconds("auth_failure_delay") { limits.authFailureDelay = v }
        if let v = config.integer("blocking_threads"), v > 0 { limits.blockingThreads = v }
        return limits
    }

    /// The shared AUTH failure limits, as configured now.
    public var authFailureLimits: AuthFailureTracker.Limits {
        AuthFailureTracker.Limits(perAddress: limits.authMaxFailuresPerIP, perAccount: limits.authMaxFailuresPerUser)
    }

    /// The 220 line: config `smtpgreeting` (with ESMTP added when missing) or qpsmtpd's text.
    public var greetingText: String {
        if let greeting {
            return greeting.contains("ESMTP") ? greeting : greeting + " ESMTP"
        }
        return "\(hostName) ESMTP qpsmtpd \(Self.version) ready; send us your mail, but not your spam."
    }
}
