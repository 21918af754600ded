/// The arguments every plugin line may carry, understood once at load for all plugins
/// (qpsmtpd's `%args` handled by Qpsmtpd::Plugin): `timeout`, `reject`, `reject_type`, `loglevel`.
/// A plugin that gives one of these words its own meaning (karma's `reject connect`,
/// spamassassin's `reject 12`) reads `PluginArguments` itself; values that are not the common
/// ones are left out here rather than refused.
public struct PluginPolicy: Sendable, Hashable {
    /// `timeout N`: seconds this plugin may take at one hook, instead of `plugin_timeout`.
    public var timeout: Duration?
    /// `reject 0|1|naughty`.
    public var reject: PluginArguments.Reject?
    /// `reject_type perm|hard|temp|soft|disconnect|temp_disconnect`.
    public var rejectType: PluginArguments.RejectType?
    /// `loglevel N|+N|-N`: absolute 0–7, or a shift of the daemon's level, clamped to 0–7.
    public var logLevel: LogLevelSetting?

    public enum LogLevelSetting: Sendable, Hashable {
        case absolute(Int)
        case relative(Int)

        /// The qpsmtpd level (0 emerg … 7 debug) for a daemon running at `base`.
        public func level(from base: Int) -> Int {
            switch self {
            case .absolute(let n): return min(7, max(0, n))
            case .relative(let n): return min(7, max(0, base + n))
            }
        }
    }

    public init(timeout: Duration? = nil, reject: PluginArguments.Reject? = nil, rejectType: PluginArguments.RejectType? = nil, logLevel: LogLevelSetting? = nil) {
        self.timeout = timeout
        self.reject = reject
        self.rejectType = rejectType
        self.logLevel = logLevel
    }

    public init(_ arguments: PluginArguments) {
        if let text = arguments["timeout"], let seconds = Double(text), seconds > 0 {
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        reject = try? arguments.reject(default: nil)
        rejectType = try? arguments.rejectType(default: nil)
        if let text = arguments["loglevel"] {
            if text.hasPrefix("+") || text.hasPrefix("-"), let shift = Int(text) {
                logLevel = .relative(shift)
            } else if let level = Int(text) {
                logLevel = .absolute(level)
            }
        }
    }
}
