#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SMTPDaemon
import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// logging/connection_id, logging/transaction_id, logging/devnull, logging/apache, and warn's additions.
@Suite struct OtherLoggersTests {
    private func record(_ level: Int, _ message: String, connection: String? = "c1") -> LogRecord {
        LogRecord(level: level, connectionID: connection, hook: "rcpt", plugin: "rcpt_ok", message: message,
                  time: LogTime(seconds: 1_796_016_693, microseconds: 123_456))
    }

    private func send(_ plugin: any SMTPPlugin, _ records: [LogRecord]) {
        var hooks = HookRegistry()
        plugin.register(into: &hooks)
        for record in records { for logger in hooks.loggers { logger.handler(record) } }
    }

    @Test func connectionIDPutsTheConnectionWhereThePidWas() throws {
        let lines = Mutex<[String]>([])
        let plugin = try ConnectionIDLogger(context: Fixture.context("logging/connection_id", ["LOGINFO"]), output: { line in lines.withLock { $0.append(line) } })
        send(plugin, [record(6, "one\ntwo"), record(7, "debug"), record(4, "outside", connection: nil)])
        #expect(lines.withLock { $0 } == [
            "2026-11-30T05:31:33.123Z c1 (rcpt) rcpt_ok: one two\n",
            "2026-11-30T05:31:33.123Z ??? (rcpt) rcpt_ok: outside\n",
        ])
        #expect(throws: PluginArgumentError.self) { try ConnectionIDLogger(context: Fixture.context("logging/connection_id", ["LOUD"])) }
    }

    @Test func transactionIDFollowsMailToTheEndOfTheTransaction() async throws {
        let lines = Mutex<[String]>([])
        var registry = PluginRegistry.builtIn
        registry.register(CapturingTransactionIDLogger.self, as: "logging/transaction_id")
        let harness = try CapturingTransactionIDLogger.$output.withValue({ line in lines.withLock { $0.append(line) } }) {
            try PluginHarness("logging/transaction_id 7", plugins: registry)
        }
        func log(_ message: String) {
            for logger in harness.registry.loggers { logger.handler(record(4, message, connection: harness.connection.id)) }
        }
        log("before mail")
        _ = try await harness.mail(from: "sender@example.org")
        log("in transaction")
        try await harness.run(.resetTransaction)
        log("after")
        let all = lines.withLock { $0 }
        #expect(all.count == 3)
        #expect(all[0].contains(" ??? (rcpt) rcpt_ok: before mail"))
        #expect(all[1].contains(" \(harness.transaction.id) (rcpt) rcpt_ok: in transaction"))
        #expect(all[2].contains(" ??? (rcpt) rcpt_ok: after"))
    }

    @Test func devnullTakesEverythingAndWritesNothing() throws {
        let plugin = try DevNullLogger(context: Fixture.context("logging/devnull"))
        var hooks = HookRegistry()
        plugin.register(into: &hooks)
        // Registered, so the daemon's stderr fallback stays silent.
        #expect(hooks.loggers.count == 1)
        #expect(throws: PluginArgumentError.self) { try DevNullLogger(context: Fixture.context("logging/devnull", ["6"])) }
    }

    @Test func apacheWritesApacheErrorLogLinesToAFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/error.log"
        let plugin = try ApacheLogger(context: Fixture.context("logging/apache", ["loglevel", "LOGNOTICE", path]))
        send(plugin, [record(5, "notice"), record(6, "info")])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let stamp = FileLogger.timestamp("%a %b %d %T", seconds: 1_796_016_693)
        let year = FileLogger.timestamp("%Y", seconds: 1_796_016_693)
        #expect(text == "[\(stamp).123456 \(year)] [qpsmtpd:notice] [pid \(getpid())] [c1] (rcpt) rcpt_ok: notice\n")
        #expect(throws: PluginArgumentError.self) { try ApacheLogger(context: Fixture.context("logging/apache", [dir.path + "/nowhere/error.log"])) }
    }

    @Test func warnTakesAJSONFormatAndSkipsItsOwnRecords() throws {
        let lines = Mutex<[String]>([])
        let plugin = try WarnLogger(context: Fixture.context("logging/warn", ["6", "format", "json"]), output: { line in lines.withLock { $0.append(line) } })
        var own = record(3, "own")
        own.plugin = "logging/warn"
        send(plugin, [record(6, "info"), own])
        let all = lines.withLock { $0 }
        #expect(all.count == 1)
        let object = try #require(JSONSerialization.jsonObject(with: Data(all[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "info")
        #expect(object["time"] as? String == "2026-11-30T05:31:33.123Z")
        // `format` alone keeps the default level.
        let jsonOnly = try WarnLogger(context: Fixture.context("logging/warn", ["format", "json"]), output: { _ in })
        #expect(jsonOnly.level == 4)
    }
}

/// `logging/transaction_id` writing to `output` instead of standard error.
struct CapturingTransactionIDLogger: SMTPPlugin {
    @TaskLocal static var output: @Sendable (String) -> Void = { _ in }
    let logger: TransactionIDLogger

    init(context: PluginContext) throws {
        logger = try TransactionIDLogger(context: context, output: Self.output)
    }

    func register(into hooks: inout HookRegistry) { logger.register(into: &hooks) }
}
