#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

@Suite struct FileLoggerTests {
    // Two instants a day apart; expected names come from the same expansion, so any time zone works.
    static let day1 = 1_796_040_000
    static let day2 = day1 + 86_400

    private func logger(_ words: [String]) throws -> FileLogger {
        try FileLogger(context: Fixture.context("logging/file", words))
    }

    private func record(_ level: Int, _ message: String, connection: String? = "c1", at seconds: Int = day1) -> LogRecord {
        LogRecord(level: level, connectionID: connection, hook: "rcpt", plugin: "rcpt_ok", message: message,
                  time: LogTime(seconds: seconds, microseconds: 0))
    }

    private func send(_ plugin: FileLogger, _ records: [LogRecord]) {
        var hooks = HookRegistry()
        plugin.register(into: &hooks)
        for record in records { for logger in hooks.loggers { logger.handler(record) } }
    }

    private func lines(_ path: String) -> [String] {
        (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    @Test func writesRecordsAtOrBelowItsLevelWithQpsmtpdsTimestamp() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/qpsmtpd.log"
        let plugin = try logger(["loglevel", "LOGINFO", "tsformat", "TS", path])
        send(plugin, [record(6, "info"), record(7, "debug"), record(3, "two\nlines")])
        let written = lines(path)
        #expect(written.count == 2)
        #expect(written[0] == "TS \(FileLogger.currentHostName())[\(getpid())]: [c1] (rcpt) rcpt_ok: info")
        #expect(written[1].hasSuffix("]: [c1] (rcpt) rcpt_ok: two lines"))
        // The default level is LOGWARN, the default timestamp Perl's localtime.
        let warn = try logger([dir.path + "/warn.log"])
        send(warn, [record(4, "kept", at: Self.day1), record(5, "dropped")])
        let kept = lines(dir.path + "/warn.log")
        #expect(kept.count == 1)
        #expect(kept.first?.hasPrefix(FileLogger.timestamp("%a %b %d %T %Y", seconds: Self.day1) + " ") == true)
    }

    @Test func numericLevelAndOwnRecordsSkipped() throws {
        let dir = try TemporaryDirectory()
        let plugin = try logger(["loglevel", "7", dir.path + "/all.log"])
        var own = record(3, "mine")
        own.plugin = "logging/file"
        send(plugin, [record(7, "debug"), own])
        #expect(lines(dir.path + "/all.log").count == 1)
    }

    @Test func createsFilesWithMode0640() throws {
        let dir = try TemporaryDirectory()
        let old = umask(0o022)
        defer { umask(old) }
        _ = try logger([dir.path + "/mode.log"])
        var info = stat()
        #expect(stat(dir.path + "/mode.log", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
    }

    @Test func rotatesWhenTheStrftimeNameChanges() throws {
        let dir = try TemporaryDirectory()
        let pattern = dir.path + "/mail.%Y-%m-%d"
        let plugin = try logger([pattern])
        send(plugin, [record(4, "first", at: Self.day1), record(4, "second", at: Self.day2), record(4, "third", at: Self.day2)])
        let name1 = LogPathPattern(pattern: pattern).expand(seconds: Self.day1, connectionID: nil)
        let name2 = LogPathPattern(pattern: pattern).expand(seconds: Self.day2, connectionID: nil)
        #expect(name1 != name2)
        #expect(lines(name1).map { $0.hasSuffix("first") } == [true])
        #expect(lines(name2).count == 2)
        // The old day's file is closed; only today's stays open.
        #expect(plugin.files.openNames == [name2])
    }

    @Test func nosplitKeepsAConnectionInTheFileItStartedIn() throws {
        let dir = try TemporaryDirectory()
        let pattern = dir.path + "/mail.%Y-%m-%d"
        let plugin = try logger(["nosplit", pattern])
        send(plugin, [record(4, "c1 starts", at: Self.day1), record(4, "c1 goes on", at: Self.day2),
                      record(4, "c2 starts", connection: "c2", at: Self.day2)])
        let name1 = LogPathPattern(pattern: pattern).expand(seconds: Self.day1, connectionID: nil)
        let name2 = LogPathPattern(pattern: pattern).expand(seconds: Self.day2, connectionID: nil)
        #expect(lines(name1).count == 2)
        #expect(lines(name2).map { $0.hasSuffix("c2 starts") } == [true])
        plugin.files.connectionEnded("c1")
        send(plugin, [record(4, "c1 again", at: Self.day2)])
        #expect(lines(name2).count == 2)
    }

    @Test func percentIGivesEachConnectionItsOwnFileClosedAtTheEnd() throws {
        let dir = try TemporaryDirectory()
        let plugin = try logger([dir.path + "/session-%i.log"])
        send(plugin, [record(4, "one"), record(4, "two", connection: "c2"), record(4, "outside", connection: nil)])
        #expect(lines(dir.path + "/session-c1.log").count == 1)
        #expect(lines(dir.path + "/session-c2.log").count == 1)
        #expect(lines(dir.path + "/session-parent.log").count == 1)
        plugin.files.connectionEnded("c1")
        #expect(!plugin.files.openNames.contains(dir.path + "/session-c1.log"))
        #expect(plugin.files.openNames.contains(dir.path + "/session-c2.log"))
    }

    @Test func reopenStartsEachConnectionWithAFreshlyOpenedFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/mail.log"
        let plugin = try logger(["reopen", path])
        send(plugin, [record(4, "before")])
        // logrotate moves the file away; the open descriptor follows it.
        #expect(rename(path, path + ".1") == 0)
        send(plugin, [record(4, "same connection")])
        #expect(lines(path + ".1").count == 2)
        // The next connection opens the path again, creating it.
        send(plugin, [record(4, "next connection", connection: "c2")])
        #expect(lines(path).map { $0.hasSuffix("next connection") } == [true])
    }

    @Test func aFileThatCannotBeOpenedIsReportedOncePerName() throws {
        let dir = try TemporaryDirectory()
        let files = LogFileSet(options: .init(perConnection: true))
        let gone = dir.path + "/gone/c1.log"
        #expect(files.write("x\n", to: gone, connection: "c1")?.contains("cannot open log file \(gone)") == true)
        #expect(files.write("x\n", to: gone, connection: "c1") == nil, "said once, not for every record")
        #expect(files.write("x\n", to: dir.path + "/ok.log", connection: "c2") == nil)
        #expect(files.write("x\n", to: gone, connection: "c1") == nil, "still quiet about the same name")
        // Once the directory is there, the same name works without a reload.
        #expect(mkdir(dir.path + "/gone", 0o755) == 0)
        #expect(files.write("x\n", to: gone, connection: "c1") == nil)
        #expect(files.openNames.contains(gone))
    }

    @Test func jsonFormatWritesOneObjectPerLine() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/mail.json"
        let plugin = try logger(["format", "json", path])
        send(plugin, [record(3, "quote \" and\nnewline"), LogRecord(level: 4, connectionID: nil, hook: nil, plugin: nil, message: "start", time: LogTime(seconds: 0, microseconds: 5_000))])
        let written = lines(path)
        #expect(written.count == 2)
        let first = try #require(JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(first["message"] as? String == "quote \" and\nnewline")
        #expect(first["connection"] as? String == "c1")
        #expect(first["hook"] as? String == "rcpt")
        #expect(first["plugin"] as? String == "rcpt_ok")
        #expect(first["level"] as? String == "error")
        #expect(first["severity"] as? Int == 3)
        #expect(first["pid"] as? Int == Int(getpid()))
        #expect(written[1] == "{\"time\":\"1970-01-01T00:00:00.005Z\",\"pid\":\(getpid()),\"connection\":null,\"hook\":null,\"plugin\":null,\"level\":\"warn\",\"severity\":4,\"message\":\"start\"}")
    }

    @Test func refusesWhatWouldSilentlyLogNowhere() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: PluginArgumentError.self) { try logger([dir.path + "/missing/dir/mail.log"]) }
        #expect(throws: PluginArgumentError.self) { try logger(["|/usr/bin/logger"]) }
        #expect(throws: PluginArgumentError.self) { try logger([]) }
        #expect(throws: PluginArgumentError.self) { try logger(["loglevel", "LOGLOUD", dir.path + "/x.log"]) }
        #expect(throws: PluginArgumentError.self) { try logger(["format", "xml", dir.path + "/x.log"]) }
        // A file that cannot be opened for appending (here a directory) is found at load too.
        #expect(mkdir(dir.path + "/taken", 0o755) == 0)
        #expect(throws: (any Error).self) { try logger([dir.path + "/taken"]) }
        // A path with spaces is the rest of the line, as in qpsmtpd.
        let spaced = try logger([dir.path + "/with", "space.log"])
        send(spaced, [record(4, "spaced")])
        #expect(lines(dir.path + "/with space.log").count == 1)
    }
}
