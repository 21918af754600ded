#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/warn [loglevel] [format text|json]`: writes log records at or below its level
/// (default 4, LOGWARN) to stderr as `<time> <pid> [<connection>] (<hook>) <plugin>: <message>`
/// (`LogLine`), or as JSON lines (`LogJSON`). Like qpsmtpd's, it skips its own records.
public struct WarnLogger: SMTPPlugin {
    let level: Int
    let format: LogFormat
    let name: String
    private let output: @Sendable (String) -> Void

    public init(context: PluginContext) throws {
        try self.init(context: context, output: { writeWhole($0, to: STDERR_FILENO) })
    }

    /// `output` receives each finished line; tests capture it.
    init(context: PluginContext, output: @escaping @Sendable (String) -> Void) throws {
        self.output = output
        name = context.instanceName
        format = try LogFormat.from(context.arguments)
        // The level is the first word unless the line starts with `format`.
        if let word = context.arguments.positional(0), word != "format" {
            level = try Self.parseLevel(word)
        } else {
            level = 4
        }
    }

    /// `0`...`7`, or a name with or without its `LOG` prefix (`LOGINFO`, `info`).
    static func parseLevel(_ word: String) throws -> Int { try LogLevels.parse(word) }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: level) { [level, format, name, output] record in
            guard record.level <= level, record.plugin != name else { return }
            output(format.line(record))
        }
    }
}
