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
