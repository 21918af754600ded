#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

/// `logging/syslog` against a syslog socket the test binds (never the system's /dev/log).
@Suite struct SyslogLoggerTests {
    private func logger(_ words: [String]) throws -> SyslogLogger {
        try SyslogLogger(context: Fixture.context("logging/syslog", words))
    }

    private func send(_ plugin: SyslogLogger, _ records: [LogRecord]) {
        var hooks = HookRegistry()
        plugin.register(into: &hooks)
        for record in records { for logger in hooks.loggers { logger.handler(record) } }
    }

    private func record(_ level: Int, _ message: String = "hello") -> LogRecord {
        LogRecord(level: level, connectionID: "c1", hook: "rcpt", plugin: "rcpt_ok", message: message)
    }

    @Test func sendsADatagramWithMailFacilityAndTheRecordsSeverity() throws {
        let receiver = try SyslogReceiver()
        let plugin = try logger(["loglevel", "LOGINFO", "logsock", "unix,\(receiver.path)"])
        send(plugin, [record(6, "info line"), record(7, "too verbose"), record(3, "error line")])
        // LOG_MAIL (2) * 8 + LOG_INFO (6) = 22; + LOG_ERR (3) = 19.
        let info = try #require(receiver.receive())
        #expect(info.hasPrefix("<22>"))
        #expect(info.hasSuffix(" qpsmtpd[\(getpid())]: [c1] (rcpt) rcpt_ok: info line"))
        // RFC 3164 timestamp between PRI and tag: "Mmm dd hh:mm:ss".
        let stamp = info.dropFirst(4).prefix(15)
        #expect(stamp.count == 15 && stamp.dropFirst(9).first == ":")
        let error = try #require(receiver.receive())
        #expect(error.hasPrefix("<19>"))
        #expect(error.hasSuffix("error line"))
        #expect(receiver.receive(milliseconds: 200) == nil, "the debug record was above loglevel")
    }

    @Test func priorityFacilityAndIdentOverrideTheDefaults() throws {
        let receiver = try SyslogReceiver()
        let plugin = try logger(["priority", "LOG_NOTICE", "facility", "local3", "ident", "smtp-in", "logsock", receiver.path, "loglevel", "7"])
        send(plugin, [record(7, "debug")])
        // local3 (19) * 8 + notice (5) = 157, whatever the record's level.
        let line = try #require(receiver.receive())
        #expect(line.hasPrefix("<157>"))
        #expect(line.contains(" smtp-in[\(getpid())]: "))
    }

    @Test func defaultLevelIsWarn() throws {
        let receiver = try SyslogReceiver()
        let plugin = try logger(["logsock", receiver.path])
        send(plugin, [record(5, "notice"), record(4, "warn")])
        #expect(try #require(receiver.receive()).hasPrefix("<20>"))  // mail.warning
        #expect(receiver.receive(milliseconds: 200) == nil)
    }

    @Test func jsonFormatGoesInTheMessagePart() throws {
        let receiver = try SyslogReceiver()
        let plugin = try logger(["logsock", receiver.path, "format", "json"])
        send(plugin, [record(4, "warn")])
        let line = try #require(receiver.receive())
        #expect(line.contains("qpsmtpd[\(getpid())]: {\"time\":"))
        #expect(line.hasSuffix("\"message\":\"warn\"}"))
    }

    @Test func reconnectsWhenTheSyslogDaemonRestarts() throws {
        let receiver = try SyslogReceiver()
        let plugin = try logger(["logsock", receiver.path])
        send(plugin, [record(4, "before")])
        #expect(receiver.receive()?.hasSuffix("before") == true)
        try receiver.bind()
        send(plugin, [record(4, "after")])
        #expect(receiver.receive()?.hasSuffix("after") == true)
    }

    @Test func refusesBadArguments() throws {
        let receiver = try SyslogReceiver()
        let sock = ["logsock", receiver.path]
        #expect(throws: PluginArgumentError.self) { try logger(sock + ["loglevel"]) }
        #expect(throws: PluginArgumentError.self) { try logger(sock + ["colour", "red"]) }
        #expect(throws: PluginArgumentError.self) { try logger(sock + ["facility", "LOG_NOPE"]) }
        #expect(throws: PluginArgumentError.self) { try logger(sock + ["priority", "9"]) }
        #expect(throws: PluginArgumentError.self) { try logger(sock + ["ident", "bad ident"]) }
        #expect(throws: PluginArgumentError.self) { try logger(["logsock", "udp"]) }
        #expect(throws: (any Error).self) { try logger(["logsock", receiver.path + ".missing"]) }
    }

    @Test(arguments: [("LOG_MAIL", 2), ("mail", 2), ("local7", 23), ("LOG_AUTHPRIV", 10), ("0", 0)])
    func parsesFacilities(word: String, facility: Int) throws {
        #expect(try SyslogNames.facility(word) == facility)
    }
}
