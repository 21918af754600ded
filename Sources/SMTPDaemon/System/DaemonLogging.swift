#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
public import SMTPPluginAPI
import Synchronization

/// Routes log records to the `logging` hooks of plugins such as `logging/warn`; with none
/// registered they go to standard error, one line per event (qpsmtpd's fallback).
public final class LogRouter: Sendable {
    public static let shared = LogRouter()

    private let loggers = Mutex<[HookRegistry.LogHandler]>([])

    public func setPluginLoggers(_ handlers: [HookRegistry.LogHandler]) {
        loggers.withLock { $0 = handlers }
    }

    func route(_ record: LogRecord) {
        let handlers = loggers.withLock { $0 }
        if handlers.isEmpty {
            Self.writeToStandardError(record)
        } else {
            for handler in handlers { handler(record) }
        }
    }

    /// One `LogLine` in a single write, so lines from sessions never interleave.
    static func writeToStandardError(_ record: LogRecord) {
        var bytes = Array(LogLine.format(record, pid: getpid()).utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// qpsmtpd's numeric levels (`loglevel`: 0 emerg ... 7 debug) and swift-log's.
public enum QpsmtpdLogLevel {
    public static func swiftLogLevel(_ level: Int) -> Logger.Level {
        switch level {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }

    public static func qpsmtpdLevel(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}

/// The swift-log backend the daemon installs.
public struct RoutedLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let router: LogRouter

    public init(level: Logger.Level, router: LogRouter = .shared, metadataProvider: Logger.MetadataProvider? = nil) {
        self.logLevel = level
        self.router = router
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        // The connection id comes from the task (SessionLogContext) when the logger has none.
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(self.metadata) { $1 }
        if let explicit { merged.merge(explicit) { $1 } }
        router.route(LogRecord(
            level: QpsmtpdLogLevel.qpsmtpdLevel(level),
            connectionID: merged["conn"].map { "\($0)" },
            hook: merged["hook"].map { "\($0)" },
            plugin: merged["plugin"].map { "\($0)" },
            message: message.description))
    }
}
