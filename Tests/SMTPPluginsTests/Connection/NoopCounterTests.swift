import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct NoopCounterTests {
    private static let refusal = HookResult.denyDisconnect("Stop wasting my time, too many consecutive NOOPs")

    @Test func thirdNoopByDefault() async throws {
        let harness = try PluginHarness("noop_counter")
        #expect(try await harness.run(.noop) == .declined)
        #expect(try await harness.run(.noop) == .declined)
        #expect(try await harness.run(.noop) == Self.refusal)
    }

    @Test func takesTheLimit() async throws {
        let harness = try PluginHarness("noop_counter 1")
        #expect(try await harness.run(.noop) == Self.refusal)
    }

    @Test(arguments: [HookPoint.helo, .ehlo, .mail, .rcpt, .data, .resetTransaction, .vrfy, .help])
    func otherCommandsReset(point: HookPoint) async throws {
        let harness = try PluginHarness("noop_counter 2")
        #expect(try await harness.run(.noop) == .declined)
        switch point {
        case .helo: try await harness.helo("a.example")
        case .ehlo: try await harness.ehlo("a.example")
        case .mail: try await harness.mail(from: "a@example.org")
        case .rcpt: try await harness.rcpt(to: "a@example.org")
        case .vrfy, .help: try await harness.run(point, .argument("x"))
        default: try await harness.run(point)
        }
        #expect(try await harness.run(.noop) == .declined)
        #expect(try await harness.run(.noop) == Self.refusal)
    }

    @Test(arguments: ["noop_counter 0", "noop_counter x", "noop_counter 3 4"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: ["plugins": ["noop_counter"]]) { client in
            try await client.greeting()
            try await client.command("NOOP").expect(250)
            try await client.helo()
            try await client.command("NOOP").expect(250)
            try await client.command("NOOP").expect(250)
            let reply = try await client.command("NOOP").expect(500)
            #expect(reply.text == "5.7.1 Stop wasting my time, too many consecutive NOOPs")
            #expect(try await client.isClosed())
        }
    }
}
