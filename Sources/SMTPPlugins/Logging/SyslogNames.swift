import SMTPPluginAPI

/// syslog(3)'s facility and severity names as `logging/syslog` accepts them: with or without
/// the `LOG_` prefix, any case, or as numbers.
enum SyslogNames {
    static let facilities: [String: Int] = [
        "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
        "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
        "local0": 16, "local1": 17, "local2": 18, "local3": 19,
        "local4": 20, "local5": 21, "local6": 22, "local7": 23,
    ]
    static let severities: [String: Int] = [
        "emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7,
    ]

    static func facility(_ word: String) throws -> Int {
        if let n = Int(word), (0...23).contains(n) { return n }
        guard let n = facilities[stripped(word)] else {
            throw PluginArgumentError("facility must be a syslog facility such as LOG_MAIL or local0, not '\(word)'")
        }
        return n
    }

    static func severity(_ word: String) throws -> Int {
        if let n = Int(word), (0...7).contains(n) { return n }
        guard let n = severities[stripped(word)] else {
            throw PluginArgumentError("priority must be 0-7 or a syslog priority such as LOG_NOTICE, not '\(word)'")
        }
        return n
    }

    private static func stripped(_ word: String) -> String {
        let lower = word.lowercased()
        return lower.hasPrefix("log_") ? String(lower.dropFirst(4)) : lower
    }
}
