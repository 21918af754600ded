import SMTPCore
import SMTPDaemon
import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// `logging/adaptive` writing to `CapturingAdaptiveLogger.output` instead of standard error.
struct CapturingAdaptiveLogger: SMTPPlugin {
    @TaskLocal static var output: @Sendable (String) -> Void = { _ in }
    let logger: AdaptiveLogger

    init(context: PluginContext) throws {
        logger = try AdaptiveLogger(context: context, output: Self.output)
    }

    func register(into hooks: inout HookRegistry) { logger.register(into: &hooks) }
}

/// Lines a capturing logger wrote, shared with the test.
final class CapturedLines: Sendable {
    private let lines = Mutex<[String]>([])
    init() {}
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct AdaptiveLoggerTests {
    /// The adaptive logger first, then `relay only 1`, which refuses recipients from outside.
    private func harness(_ words: [String], lines: CapturedLines, remoteIP: String) throws -> PluginHarness {
        var registry = PluginRegistry.builtIn
        registry.register(CapturingAdaptiveLogger.self, as: "logging/adaptive")
        return try CapturingAdaptiveLogger.$output.withValue({ line in lines.append(line) }) {
            try PluginHarness((["logging/adaptive"] + words).joined(separator: " "), "relay only 1",
                              config: ["relayclients": ["127.0.0.1"]], plugins: registry, remoteIP: remoteIP)
        }
    }

    private func log(_ harness: PluginHarness, _ level: Int, _ message: String) {
        let record = LogRecord(level: level, connectionID: harness.connection.id, hook: "rcpt", plugin: "rcpt_ok", message: message)
        for logger in harness.registry.loggers { logger.handler(record) }
    }

    @Test func anAcceptedTransactionRepeatsItsAcceptLevelLinesWithThePrefix() async throws {
        let lines = CapturedLines()
        let harness = try harness(["accept", "LOGINFO", "reject", "7", "prefix", "+"], lines: lines, remoteIP: "127.0.0.1")
        _ = try await harness.connect()
        log(harness, 6, "from accepted")
        log(harness, 7, "debug detail")
        let accepted = try await harness.rcpt(to: "someone@example.org")
        guard case .ok = accepted else { Issue.record("relay client refused: \(accepted)"); return }
        #expect(lines.all.count == 2, "everything at or below reject is written at once")
        try await harness.run(.resetTransaction)
        let all = lines.all
        #expect(all.count == 3)
        #expect(all[2].contains(" + [harness] (rcpt) rcpt_ok: from accepted"))
        // Written once only.
        try await harness.run(.resetTransaction)
        #expect(lines.all.count == 3)
    }

    @Test func aDeniedTransactionIsNotRepeated() async throws {
        let lines = CapturedLines()
        let harness = try harness([], lines: lines, remoteIP: "192.0.2.10")
        _ = try await harness.connect()
        log(harness, 3, "error kept")
        log(harness, 5, "notice above the default reject level")
        #expect(try await harness.rcpt(to: "someone@example.org") == .deny("relaying denied"))
        try await harness.run(.resetTransaction)
        let all = lines.all
        #expect(all.count == 1)
        #expect(all[0].hasSuffix(" [harness] (rcpt) rcpt_ok: error kept\n"))
        // The denial counted for that transaction only: the next one is repeated, with the default prefix.
        log(harness, 2, "next")
        try await harness.run(.resetTransaction)
        #expect(lines.all.last?.contains(" ` [harness] (rcpt) rcpt_ok: next") == true)
    }

    @Test func refusesBadLevels() {
        #expect(throws: (any Error).self) { try AdaptiveLogger(context: Fixture.context("logging/adaptive", ["accept", "LOGLOUD"]), output: { _ in }) }
        #expect(throws: (any Error).self) { try AdaptiveLogger(context: Fixture.context("logging/adaptive", ["reject", "9"]), output: { _ in }) }
    }
}
