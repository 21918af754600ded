#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI

/// `content_log`: at data_post, appends every message (header as it will be queued, then the
/// body, with LF line ends) to a file named by the config file `content_log_file`, a strftime pattern in local
/// time (default `mail/%Y%m%d`, one file a day; relative to the config directory). The config
/// file `content_log_enabled` set to 0 turns it off. It never refuses a message: a file that
/// cannot be written is logged and the message goes on.
public struct ContentLog: SMTPPlugin {
    private let enabled: Bool
    private let pattern: String

    public init(context: PluginContext) throws {
        guard context.arguments.words.isEmpty else {
            throw PluginArgumentError("content_log takes no arguments; see the config files content_log_file and content_log_enabled")
        }
        enabled = context.config.value("content_log_enabled") == nil || context.config.flag("content_log_enabled")
        let file = context.config.value("content_log_file") ?? "mail/%Y%m%d"
        let base = (context.config as? DirectoryConfigStore)?.searchPath.first ?? "."
        pattern = file.hasPrefix("/") ? file : base + "/" + file
    }

    public func register(into hooks: inout HookRegistry) {
        guard enabled else { return }
        hooks.onDataPost { context, transaction in
            let path = Self.expand(pattern, at: context.services.clock.now)
            let header = transaction.header
            let body = transaction.body
            do {
                try await context.services.blocking.run { try Self.append(path: path, header: header, body: body) }
                context.logger.debug("saved message to \(path)")
            } catch {
                context.logger.error("could not write \(path): \(error)")
            }
            return .declined
        }
    }

    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    /// strftime in local time.
    static func expand(_ pattern: String, at time: WallTime) -> String {
        var seconds = time_t(time.secondsSinceEpoch)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = strftime(&buffer, buffer.count, pattern, &parts)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : pattern
    }

    /// The message with Unix line ends, as qpsmtpd's log files have them.
    private static func append(path: String, header: MessageHeader, body: SpooledMessage?) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        try MessageWriter.write(header: header, body: body, lineEnding: .lf) { try writeAll(fd, $0) }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw WriteError(description: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}
