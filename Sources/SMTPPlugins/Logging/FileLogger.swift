#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/file [loglevel L] [reopen] [nosplit] [tsformat F] [format text|json] path`:
/// appends records at or below `loglevel` (default LOGWARN) to `path`, which may hold strftime
/// conversions (a new file whenever the expanded name changes: `qpsmtpd.log.%Y-%m-%d` rotates
/// daily) and `%i` (a file per connection). Text lines are
/// `<tsformat time> <host>[<pid>]: [<connection>] (<hook>) <plugin>: <message>`, as qpsmtpd's
/// with our fields; `format json` writes `LogJSON` lines instead. One write(2) per record.
///
/// Unlike qpsmtpd, a missing directory or an unwritable file stops loading (a log that silently
/// goes nowhere is found too late), and `|command` outputs are refused: run the command on the
/// file (`tail -F`) or use `logging/syslog`.
public struct FileLogger: SMTPPlugin {
    let level: Int
    let format: LogFormat
    let timestampFormat: String
    let path: LogPathPattern
    let files: LogFileSet
    let name: String
    let logger: Logger
    private let hostName: String

    public init(context: PluginContext) throws {
        var level = 4
        var format = LogFormat.text
        var timestampFormat = "%a %b %d %T %Y"  // what Perl's scalar localtime prints
        var options = LogFileSet.Options()
        var words = context.arguments.words[...]
        // qpsmtpd reads keywords until the first word that is none: the rest is the path.
        keywords: while let word = words.first {
            switch word.lowercased() {
            case "loglevel", "tsformat", "format":
                guard words.count >= 2 else { throw PluginArgumentError("\(word) needs a value") }
                let value = words[words.startIndex + 1]
                switch word.lowercased() {
                case "loglevel": level = try LogLevels.parse(value)
                case "tsformat": timestampFormat = value
                default: format = try LogFormat.from(PluginArguments(["format", value]))
                }
                words = words.dropFirst(2)
            case "nosplit": options.noSplit = true; words = words.dropFirst()
            case "reopen": options.reopenPerConnection = true; words = words.dropFirst()
            default: break keywords
            }
        }
        let output = words.joined(separator: " ")
        guard !output.isEmpty else { throw PluginArgumentError("no log file path given") }
        if output.trimmingLeadingSpaces.hasPrefix("|") {
            throw PluginArgumentError("logging to a command ('|…') is not supported: log to a file and read it with 'tail -F', or use logging/syslog")
        }
        let pattern = LogPathPattern(pattern: output)
        options.perConnection = pattern.isPerConnection
        self.level = level
        self.format = format
        self.timestampFormat = timestampFormat
        self.path = pattern
        self.files = LogFileSet(options: options)
        self.name = context.instanceName
        self.logger = context.logger
        self.hostName = Self.currentHostName()

        // Found at load, not at the first line: the directory must be there (never created
        // behind the administrator's back) and the file writable.
        let first = pattern.expand(seconds: LogTime.now.seconds, connectionID: nil)
        let directory = Self.directory(of: first)
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw PluginArgumentError("log directory \(directory) does not exist (create it; it is not created for you)")
        }
        if pattern.isPerConnection {
            guard access(directory, W_OK | X_OK) == 0 else {
                throw PluginArgumentError("log directory \(directory) is not writable: \(String(cString: strerror(errno)))")
            }
        } else {
            try files.prepare(first)
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: level) { [self] record in
            guard record.level <= level, record.plugin != name else { return }
            let target = path.expand(seconds: record.time.seconds, connectionID: record.connectionID)
            if let problem = files.write(line(record), to: target, connection: record.connectionID) {
                reportLoggingProblem(problem, plugin: name, logger: logger)
            }
        }
        hooks.onPostConnection { [files] context in
            files.connectionEnded(context.connection.id)
            return .declined
        }
    }

    func line(_ record: LogRecord) -> String {
        switch format {
        case .json: return LogJSON.format(record, pid: getpid())
        case .text:
            return "\(Self.timestamp(timestampFormat, seconds: record.time.seconds)) \(hostName)[\(getpid())]: " + LogLine.fields(record)
        }
    }

    static func timestamp(_ format: String, seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 256)
        let count = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func currentHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate var trimmingLeadingSpaces: Substring { drop(while: { $0 == " " || $0 == "\t" }) }
}
