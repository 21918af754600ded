#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When a log record was made, to the microsecond.
public struct LogTime: Sendable, Hashable {
    public var seconds: Int
    public var microseconds: Int

    public init(seconds: Int, microseconds: Int) {
        self.seconds = seconds
        self.microseconds = microseconds
    }

    public static var now: LogTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return LogTime(seconds: Int(spec.tv_sec), microseconds: Int(spec.tv_nsec) / 1000)
    }

    /// RFC 3339 in UTC with milliseconds (`2026-11-30T05:31:33.123Z`), which log tools sort and parse.
    public var rfc3339: String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(microseconds / 1000), 3))Z"
    }
}

/// The one line format of the daemon's own log and of `logging/warn`:
/// `<time> <pid> [<connection>] (<hook>) <plugin>: <message>`. The connection is `-` for lines
/// that belong to none (start-up, reload), so every line has the same fields in the same places.
public enum LogLine {
    public static func format(_ record: LogRecord, pid: Int32) -> String {
        "\(record.time.rfc3339) \(pid) " + fields(record)
    }

    /// The line without its time and pid, `[<connection>] (<hook>) <plugin>: <message>\n`, for
    /// loggers that stamp lines their own way (`logging/file`'s `tsformat`, syslog).
    public static func fields(_ record: LogRecord) -> String {
        var line = "[\(record.connectionID ?? "-")]"
        if let hook = record.hook { line += " (\(hook))" }
        if let plugin = record.plugin { line += " \(plugin)" }
        line += ": "
        // One record stays one line, whatever the message holds.
        line += String(record.message.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
        line += "\n"
        return line
    }
}

/// A log record handed to `logging` hooks.
public struct LogRecord: Sendable {
    public var level: Int  // qpsmtpd's 0 (emerg) ... 7 (debug)
    public var connectionID: String?
    public var hook: String?
    public var plugin: String?
    public var message: String
    public var time: LogTime
    public init(level: Int, connectionID: String?, hook: String?, plugin: String?, message: String, time: LogTime = .now) {
        self.time = time
        self.level = level
        self.connectionID = connectionID
        self.hook = hook
        self.plugin = plugin
        self.message = message
    }
}
