import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

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
