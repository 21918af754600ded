#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI

/// How a logging plugin turns a record into a line: the daemon's own line (`LogLine`) or one JSON
/// object per line (`LogJSON`), chosen with `format text|json`.
enum LogFormat: String, Sendable {
    case text, json

    /// `format text|json` from a plugin's arguments; text when absent.
    static func from(_ arguments: PluginArguments) throws -> LogFormat {
        guard let word = arguments["format"] else { return .text }
        guard let format = LogFormat(rawValue: word.lowercased()) else {
            throw PluginArgumentError("format must be text or json, not '\(word)'")
        }
        return format
    }

    func line(_ record: LogRecord) -> String {
        switch self {
        case .text: return LogLine.format(record, pid: getpid())
        case .json: return LogJSON.format(record, pid: getpid())
        }
    }
}

/// Writes `text` to `fd` in one write(2) where the kernel allows, so lines from concurrent
/// sessions never interleave mid-line. False when the descriptor failed.
@discardableResult
func writeWhole(_ text: String, to fd: Int32) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

/// A logging plugin that cannot write says so on stderr (where qpsmtpd's `warn` goes, and which
/// works when this plugin is the only logger) and to the other logging plugins through `logger`
/// (the reporting plugin skips its own records).
func reportLoggingProblem(_ problem: String, plugin: String, logger: Logger) {
    writeWhole(LogLine.format(LogRecord(level: 3, connectionID: nil, hook: nil, plugin: plugin, message: problem), pid: getpid()), to: STDERR_FILENO)
    logger.error("\(problem)")
}
