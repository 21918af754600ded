import Foundation
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct QuitFortuneTests {
    private func fortune(_ text: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("fortune", "#!/bin/sh\n[ \"$1\" = -s ] || exit 2\nprintf '\(text)'\n")
        #expect(chmod(directory.path + "/fortune", 0o755) == 0)
        return directory
    }

    private var services: PluginServices { PluginServices(hostName: "mx.test.example", programs: SpawnProgramRunner()) }

    @Test func heloClientsGetAFortune() async throws {
        let program = try fortune("Look before you leap.\\nOr not.\\n")
        let harness = try PluginHarness("quit_fortune \(program.path)/fortune", services: services)
        harness.connection.hello = .helo
        let expected = SMTPReply(code: 221, enhancedCode: .ok, lines: ["mx.test.example closing connection.", "  / Look before you leap.", "  / Or not."])
        #expect(try await harness.run(.quit) == .done(expected))
    }

    @Test func ehloClientsDoNot() async throws {
        let program = try fortune("x\\n")
        let harness = try PluginHarness("quit_fortune \(program.path)/fortune", services: services)
        harness.connection.hello = .ehlo
        #expect(try await harness.run(.quit) == .declined)
    }

    @Test func noProgramNoFortune() async throws {
        let harness = try PluginHarness("quit_fortune /nonexistent/fortune", services: services)
        harness.connection.hello = .helo
        #expect(try await harness.run(.quit) == .declined)
    }

    @Test(arguments: ["quit_fortune fortune", "quit_fortune /a /b"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}

@Suite struct HelpTests {
    private func helpDirectory() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("help/mail", "MAIL FROM:<address>\nstarts a transaction\n")
        try directory.write("help/empty", "")
        try directory.write("special.txt", "RCPT TO:<address>\n")
        return directory
    }

    @Test func answersFromTheDirectory() async throws {
        let directory = try helpDirectory()
        let harness = try PluginHarness("help help_dir \(directory.path)/help rcpt \(directory.path)/special.txt")
        #expect(try await harness.run(.help, .argument("")) == .ok("Try 'HELP COMMAND' for getting help on COMMAND"))
        #expect(try await harness.run(.help, .argument("MAIL")) == .ok("MAIL FROM:<address>\nstarts a transaction"))
        #expect(try await harness.run(.help, .argument("rcpt")) == .ok("RCPT TO:<address>"))
        #expect(try await harness.run(.help, .argument("empty")) == .ok("No help available for SMTP command: empty"))
        #expect(try await harness.run(.help, .argument("vrfy")) == .ok("No help available for SMTP command: vrfy"))
        #expect(try await harness.run(.help, .argument("../../etc/passwd")) == .done(SMTPReply(502, .invalidCommand, "Invalid command name")))
    }

    @Test func notImplemented() async throws {
        let harness = try PluginHarness("help not_implemented 1")
        #expect(try await harness.run(.help, .argument("")) == .done(SMTPReply(502, .invalidCommand, "Not implemented.")))
    }

    @Test(arguments: ["help not_implemented", "help not_implemented maybe", "help mail /nonexistent/file", "help ../x /etc/passwd"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        let directory = try helpDirectory()
        try await SMTPTestClient.with(setup, config: ["plugins": ["help help_dir \(directory.path)/help"]]) { client in
            try await client.greeting()
            let reply = try await client.command("HELP mail").expect(214)
            #expect(reply.lines == ["2.0.0 MAIL FROM:<address>", "2.0.0 starts a transaction"])
            let none = try await client.command("HELP").expect(214)
            #expect(none.text == "2.0.0 Try 'HELP COMMAND' for getting help on COMMAND")
            let bad = try await client.command("HELP a/b").expect(502)
            #expect(bad.text == "5.5.1 Invalid command name")
        }
    }
}

@Suite struct ConnectionTimeTests {
    @Test func formatsTheLine() {
        #expect(ConnectionTime.line(ip: "192.0.2.1", elapsed: .milliseconds(1234)) == "Connection time from 192.0.2.1: 1.234 sec.")
        #expect(ConnectionTime.line(ip: "192.0.2.1", elapsed: .milliseconds(5)) == "Connection time from 192.0.2.1: 0.005 sec.")
    }

    @Test func levels() {
        #expect(ConnectionTime.level("LOGNOTICE") == .notice)
        #expect(ConnectionTime.level("logdebug") == .debug)
        #expect(ConnectionTime.level("6") == .info)
        #expect(ConnectionTime.level("LOGLOUD") == nil)
    }

    @Test func startsAtPreConnectionOrConnect() async throws {
        let harness = try PluginHarness("connection_time LOGINFO")
        try await harness.connect()
        let first = try #require(harness.connection[note: ConnectionTime.started])
        try await harness.run(.preConnection)
        #expect(harness.connection[note: ConnectionTime.started]! >= first)
        #expect(try await harness.run(.postConnection) == .declined)
    }

    @Test(arguments: ["connection_time LOGLOUD", "connection_time 9", "connection_time LOGINFO LOGDEBUG"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}

@Suite struct ContentLogTests {
    @Test func appendsEachMessage() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualClock()
        let harness = try PluginHarness(
            "content_log", config: ["content_log_file": ["\(directory.path)/%Y.log"]],
            services: PluginServices(hostName: "mx.test.example", clock: clock))
        try harness.setMessage("Subject: one\r\n\r\nfirst\r\n")
        #expect(try await harness.dataPost() == .declined)
        try harness.setMessage("Subject: two\r\n\r\nsecond\r\n")
        #expect(try await harness.dataPost() == .declined)
        let year = ContentLog.expand("%Y", at: clock.now)
        #expect(try directory.read("\(year).log") == "Subject: one\n\nfirst\nSubject: two\n\nsecond\n")
    }

    @Test func disabled() async throws {
        let harness = try PluginHarness("content_log", config: ["content_log_enabled": ["0"]])
        #expect(harness.registeredHooks.isEmpty)
    }

    @Test func anUnwritableFileDoesNotRefuse() async throws {
        let harness = try PluginHarness("content_log", config: ["content_log_file": ["/nonexistent/dir/%Y"]])
        try harness.setMessage("Subject: x\r\n\r\nbody\r\n")
        #expect(try await harness.dataPost() == .declined)
    }

    @Test func takesNoArguments() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("content_log yes") }
    }
}
