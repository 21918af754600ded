import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// `logging/warn` writing to `CapturingWarnLogger.output` instead of standard error.
struct CapturingWarnLogger: SMTPPlugin {
    @TaskLocal static var output: @Sendable (String) -> Void = { _ in }
    let logger: WarnLogger

    init(context: PluginContext) throws {
        logger = try WarnLogger(context: context, output: Self.output)
    }

    func register(into hooks: inout HookRegistry) { logger.register(into: &hooks) }
}

@Suite struct WarnLoggerTests {
    private func capture(_ words: [String], _ records: [LogRecord]) throws -> [String] {
        let lines = Mutex<[String]>([])
        let harness = try CapturingWarnLogger.$output.withValue({ line in lines.withLock { $0.append(line) } }) {
            try PluginHarness(CapturingWarnLogger.self, (["logging/warn"] + words).joined(separator: " "))
        }
        let loggers = harness.registry.loggers
        #expect(loggers.count == 1)
        for record in records {
            for logger in loggers { logger.handler(record) }
        }
        return lines.withLock { $0 }
    }

    private func record(_ level: Int, _ message: String = "hello") -> LogRecord {
        LogRecord(level: level, connectionID: "c1", hook: "rcpt", plugin: "rcpt_ok", message: message)
    }

    @Test func filtersByLevelAndDefaultsToWarn() throws {
        let lines = try capture([], [record(3, "error"), record(4, "warn"), record(5, "notice")])
        #expect(lines.count == 2)
        #expect(lines[0].hasSuffix(" [c1] (rcpt) rcpt_ok: error\n"))
        #expect(lines[1].hasSuffix(" [c1] (rcpt) rcpt_ok: warn\n"))
        #expect(try capture(["6"], [record(6), record(7)]).count == 1)
    }

    @Test func formatsOneLinePerRecordWithTimeAndConnection() {
        // 2026-11-30 05:31:33.123456 UTC
        let time = LogTime(seconds: 1_796_016_693, microseconds: 123_456)
        var two = record(4, "two\nlines\r\nhere")
        two.time = time
        #expect(LogLine.format(two, pid: 42) == "2026-11-30T05:31:33.123Z 42 [c1] (rcpt) rcpt_ok: two lines here\n")
        // Lines outside a connection keep the same fields, with "-" for the connection.
        let bare = LogRecord(level: 4, connectionID: nil, hook: nil, plugin: nil, message: "starting", time: LogTime(seconds: 0, microseconds: 5_000))
        #expect(LogLine.format(bare, pid: 42) == "1970-01-01T00:00:00.005Z 42 [-]: starting\n")
    }

    @Test(arguments: [("7", 7), ("0", 0), ("LOGINFO", 6), ("debug", 7), ("LOGWARN", 4), ("logemerg", 0)])
    func parsesLevels(word: String, level: Int) throws {
        #expect(try WarnLogger.parseLevel(word) == level)
    }

    @Test(arguments: ["8", "-1", "LOGLOUD"])
    func rejectsBadLevels(word: String) {
        #expect(throws: PluginArgumentError.self) { try WarnLogger.parseLevel(word) }
    }
}
