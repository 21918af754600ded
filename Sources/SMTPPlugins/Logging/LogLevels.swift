import SMTPPluginAPI

/// qpsmtpd's log levels as its logging plugins accept them: `0`...`7`, or a name with or without
/// its `LOG` prefix (`LOGINFO`, `info`; qpsmtpd's `LOGERROR` and syslog's `err` both work).
enum LogLevels {
    static let names = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]
    private static let aliases = ["err": 3, "warning": 4, "critical": 2, "emergency": 0, "radar": 0]

    static func parse(_ word: String) throws -> Int {
        if let n = Int(word), (0...7).contains(n) { return n }
        var name = word.lowercased()
        if name.hasPrefix("log") { name.removeFirst(3) }
        if let n = names.firstIndex(of: name) ?? aliases[name] { return n }
        throw PluginArgumentError("log level must be 0-7 or a name such as LOGINFO, not '\(word)'")
    }
}
