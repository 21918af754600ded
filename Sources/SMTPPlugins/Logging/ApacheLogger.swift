#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/apache [loglevel L] [path]`: qpsmtpd's plugin writes to Apache's error log when
/// qpsmtpd runs inside mod_perl. No Apache is involved here, so it writes lines in Apache's
/// error-log format — `[Mon Nov 30 09:11:32.123456 2026] [qpsmtpd:warn] [pid 42] [<connection>]
/// (<hook>) <plugin>: <message>` — to `path` (a plain file, which must be in an existing
/// directory), or to stderr without one, so tools that read Apache error logs read these too.
/// The level defaults to LOGWARN, Apache's default `LogLevel warn`.
public struct ApacheLogger: SMTPPlugin {
    let level: Int
    let name: String
    let logger: Logger
    private let output: @Sendable (String) -> String?

    public init(context: PluginContext) throws {
        var words = context.arguments.words[...]
        var level = 4
        if words.first?.lowercased() == "loglevel" {
            guard words.count >= 2 else { throw PluginArgumentError("loglevel needs a value") }
            level = try LogLevels.parse(words[words.startIndex + 1])
            words = words.dropFirst(2)
        }
        self.level = level
        name = context.instanceName
        logger = context.logger
        let path = words.joined(separator: " ")
        if path.isEmpty {
            output = { writeWhole($0, to: STDERR_FILENO) ? nil : "cannot write to stderr" }
        } else {
            let directory = FileLogger.directory(of: path)
            var info = stat()
            guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw PluginArgumentError("log directory \(directory) does not exist (create it; it is not created for you)")
            }
            let files = LogFileSet(options: .init())
            try files.prepare(path)
            output = { files.write($0, to: path, connection: nil) }
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: level) { [self] record in
            guard record.level <= level, record.plugin != name else { return }
            if let problem = output(Self.line(record, pid: getpid())) { reportLoggingProblem(problem, plugin: name, logger: logger) }
        }
    }

    static func line(_ record: LogRecord, pid: Int32) -> String {
        let stamp = FileLogger.timestamp("%a %b %d %T", seconds: record.time.seconds)
        let year = FileLogger.timestamp("%Y", seconds: record.time.seconds)
        let micro = String(record.time.microseconds)
        let fraction = String(repeating: "0", count: max(0, 6 - micro.count)) + micro
        let level = LogLevels.names.indices.contains(record.level) ? LogLevels.names[record.level] : "debug"
        return "[\(stamp).\(fraction) \(year)] [qpsmtpd:\(level)] [pid \(pid)] " + LogLine.fields(record)
    }
}
