import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct LoopTests {
    private static let refusal = HookResult.done(SMTPReply(552, EnhancedStatusCode(5, 4, 6), "Too many hops (#5.4.6)"))

    private func message(received: Int, deliveredTo: Int) -> String {
        String(repeating: "Received: from a by b\n", count: received)
            + String(repeating: "Delivered-To: u@example.org\n", count: deliveredTo) + "From: a@example.org\n\nbody\n"
    }

    private func check(_ line: String, received: Int, deliveredTo: Int = 0) async throws -> HookResult {
        let harness = try PluginHarness(line)
        try harness.setMessage(message(received: received, deliveredTo: deliveredTo))
        return try await harness.dataPost()
    }

    @Test func defaultIsAHundred() async throws {
        #expect(try await check("loop", received: 99) == .declined)
        #expect(try await check("loop", received: 100) == Self.refusal)
    }

    @Test func countsReceivedAndDeliveredTo() async throws {
        #expect(try await check("loop 5", received: 2, deliveredTo: 2) == .declined)
        #expect(try await check("loop 5", received: 3, deliveredTo: 2) == Self.refusal)
    }

    /// Debian 0.94's check_loop refused everything; ours is loop under its old name.
    @Test func checkLoopIsLoop() async throws {
        #expect(try await check("check_loop", received: 1) == .declined)
        #expect(try await check("check_loop", received: 0) == .declined)
        #expect(try await check("check_loop 3", received: 3) == Self.refusal)
    }

    @Test(arguments: ["loop 0", "loop -1", "loop many", "loop 5 6"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        let queue = CapturedMail()
        let config = ["plugins": ["check_loop 3", "rcpt_ok", queue.pluginLine], "rcpthosts": ["test.example"]]
        try await SMTPTestClient.with(setup, config: config) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            // Our own Received makes the third hop.
            let refused = try await client.data(message(received: 2, deliveredTo: 0)).expect(552, "5.4.6")
            #expect(refused.text == "5.4.6 Too many hops (#5.4.6)")
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            try await client.data(message(received: 1, deliveredTo: 0)).expect(250)
        }
        #expect(queue.messages.count == 1)
    }
}
