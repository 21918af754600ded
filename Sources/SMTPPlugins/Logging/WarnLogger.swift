#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/warn [loglevel]`: writes log records at or below its level (default 4, LOGWARN) to
/// stderr as `<time> <pid> [<connection>] (<hook>) <plugin>: <message>` (`LogLine`).
public struct WarnLogger: SMTPPlugin {
    private static let levelNames = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]

    let level: Int
    private let output: @Sendable (String) -> Void

    public init(context: PluginContext) throws {
        try self.init(context: context, output: Self.writeToStandardError)
    }

    /// `output` receives each finished line; tests capture it.
    init(context: PluginContext, output: @escaping @Sendable (String) -> Void) throws {
        self.output = output
        guard let word = context.arguments.positional(0) else {
            level = 4
            return
        }
        level = try Self.parseLevel(word)
    }

    /// `0`...`7`, or a name with or without its `LOG` prefix (`LOGINFO`, `info`).
    static func parseLevel(_ word: String) throws -> Int {
        if let n = Int(word), (0...7).contains(n) { return n }
        var name = word.lowercased()
        if name.hasPrefix("log") { name.removeFirst(3) }
        if let n = levelNames.firstIndex(of: name) { return n }
        throw PluginArgumentError("loglevel must be 0-7 or a name such as LOGINFO, not '\(word)'")
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging { record in
            guard record.level <= level else { return }
            output(LogLine.format(record, pid: getpid()))
        }
    }

    /// One write(2) per line, so lines from concurrent sessions never interleave mid-line.
    @Sendable private static func writeToStandardError(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
