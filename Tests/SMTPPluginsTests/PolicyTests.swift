import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct CountUnrecognizedCommandsTests {
    private func results(_ line: String, commands: Int) async throws -> ([HookResult], PluginHarness) {
        let harness = try PluginHarness(line)
        var out: [HookResult] = []
        for _ in 0..<commands { out.append(try await harness.unrecognized("foo")) }
        return (out, harness)
    }

    @Test func disconnectsAtTheLimit() async throws {
        let (results, harness) = try await results("count_unrecognized_commands 3", commands: 3)
        #expect(results[0] == .declined)
        #expect(results[1] == .declined)
        #expect(results[2] == .denyDisconnect("Closing connection, 3 unrecognized commands. Perhaps you should read RFC 2821?"))
        #expect(harness.connection[note: .unrecognizedCommandCount] == 3)
    }

    @Test func defaultsToFour() async throws {
        let (results, _) = try await results("count_unrecognized_commands", commands: 4)
        #expect(results.prefix(3).allSatisfy { $0 == .declined })
        #expect(results[3] == .denyDisconnect("Closing connection, 4 unrecognized commands. Perhaps you should read RFC 2821?"))
    }

    @Test func continuesAnExistingCount() async throws {
        let harness = try PluginHarness("count_unrecognized_commands 2")
        harness.connection[note: .unrecognizedCommandCount] = 5
        #expect(try await harness.unrecognized("x") == .denyDisconnect("Closing connection, 6 unrecognized commands. Perhaps you should read RFC 2821?"))
    }

    @Test(arguments: ["0", "-1", "four"])
    func rejectsBadLimits(word: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("count_unrecognized_commands \(word)") }
    }

    /// In a session the fourth unknown command ends the connection.
    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: ["plugins": ["count_unrecognized_commands 2"]]) { client in
            try await client.greeting()
            try await client.command("FOO").expect(500)
            try await client.command("BAR").expect(521)
            #expect(try await client.isClosed())
        }
    }
}

@Suite struct DontRequireAngleBracketsTests {
    @Test(arguments: [
        (HookPoint.mailPre, "user@example.org", HookResult.ok("<user@example.org>")),
        (.mailPre, "", .ok("<>")),
        (.mailPre, "<user@example.org>", .declined),
        (.mailPre, "<>", .declined),
        (.rcptPre, "postmaster", .ok("<postmaster>")),
        (.rcptPre, "user@example.org", .ok("<user@example.org>")),
        (.rcptPre, "<user@example.org>", .declined),
    ])
    func wrapsBarePaths(point: HookPoint, path: String, expected: HookResult) async throws {
        let harness = try PluginHarness("dont_require_anglebrackets")
        let result = point == .mailPre ? try await harness.mailPre(path) : try await harness.rcptPre(path)
        #expect(result == expected)
    }

    @Test func costsKarma() async throws {
        let harness = try PluginHarness("dont_require_anglebrackets")
        try await harness.mailPre("a@b.example")
        try await harness.rcptPre("<c@d.example>")
        try await harness.rcptPre("c@d.example")
        #expect(harness.connection[note: .karma] == -4)
    }

    /// A client that leaves the brackets off gets through a whole session.
    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        let queue = CapturedMail()
        let config = ["rcpthosts": ["test.example"], "plugins": ["dont_require_anglebrackets", "rcpt_ok", queue.pluginLine]]
        try await SMTPTestClient.with(setup, config: config) { client in
            try await client.greeting()
            try await client.helo()
            try await client.command("MAIL FROM:s@x.example").expect(250)
            try await client.command("RCPT TO:a@test.example").expect(250)
            try await client.data("Subject: x\n\nhi\n").expect(250)
        }
        #expect(queue.messages.first?.sender == "s@x.example")
    }
}
