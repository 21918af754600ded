import SMTPDaemon
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct HostsAllowTests {
    private static let busy = HookResult.denySoft("too many connections from 192.0.2.10, try again later")

    private func check(open: Int, limit: Int, karma: Int? = nil, table: [String] = []) async throws -> HookResult {
        let harness = try PluginHarness("hosts_allow", config: ["hosts_allow": table])
        harness.connection.addressConcurrency = AddressConcurrency(open: open, limit: limit)
        if let karma { harness.connection[note: HostsAllow.karmaHistory] = karma }
        return try await harness.run(.preConnection)
    }

    @Test func countsAgainstTheServersLimit() async throws {
        #expect(try await check(open: 1, limit: 1) == .declined)
        #expect(try await check(open: 2, limit: 1) == Self.busy)
        #expect(try await check(open: 5, limit: 5) == .declined)
        #expect(try await check(open: 6, limit: 5) == Self.busy)
    }

    @Test func noLimitNoCount() async throws {
        #expect(try await check(open: 50, limit: 0) == .declined)
        let harness = try PluginHarness("hosts_allow")
        #expect(try await harness.run(.preConnection) == .declined, "no listener counted (inetd)")
    }

    @Test func karmaMovesTheLimit() async throws {
        #expect(try await check(open: 5, limit: 2, karma: 6) == .declined)
        #expect(try await check(open: 6, limit: 2, karma: 6) == Self.busy)
        #expect(try await check(open: 3, limit: 2, karma: 5) == Self.busy)
        #expect(try await check(open: 2, limit: 5, karma: 0) == Self.busy)
        #expect(try await check(open: 1, limit: 5, karma: -3) == .declined)
    }

    @Test func firstMatchingLineAnswers() async throws {
        let table = ["192.0.2.10 DECLINED", "192.0.2.0/24 DENY Sorry, known spam only source", "0.0.0.0/0 DENYSOFT"]
        #expect(try await check(open: 1, limit: 0, table: table) == .declined)
        let harness = try PluginHarness("hosts_allow", config: ["hosts_allow": Array(table.dropFirst())])
        #expect(try await harness.run(.preConnection) == .deny("Sorry, known spam only source"))
        let other = try PluginHarness("hosts_allow", config: ["hosts_allow": ["198.51.100.0/24 DENY x", "0.0.0.0/0 DENYSOFT"]])
        #expect(try await other.run(.preConnection) == .denySoft(nil))
    }

    @Test(arguments: [
        ("192.0.2.10 OK", HookResult.ok(nil)),
        ("192.0.2.10 deny_disconnect bye", .denyDisconnect("bye")),
        ("192.0.2.10 DENYSOFT_DISCONNECT later please", .denySoftDisconnect("later please")),
        ("2001:db8::/32 DENY v6 only", .declined),
        ("192.0.2. DENY prefix", .deny("prefix")),
    ])
    func constants(line: String, expected: HookResult) async throws {
        #expect(try await check(open: 1, limit: 0, table: [line]) == expected)
    }

    @Test func matchesIPv6Clients() async throws {
        let harness = try PluginHarness("hosts_allow", config: ["hosts_allow": ["2001:db8::/32 DENY v6 denied"]], remoteIP: "2001:db8::25")
        #expect(try await harness.run(.preConnection) == .deny("v6 denied"))
    }

    @Test(arguments: [["192.0.2.1"], ["nothost DENY"], ["192.0.2.1 MAYBE"], ["192.0.2.1/40 DENY"]])
    func refusesBadLines(table: [String]) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("hosts_allow", config: ["hosts_allow": table]) }
    }

    @Test func takesNoArguments() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("hosts_allow 5") }
    }

    @Test func takesOverTheListenersPerAddressLimit() throws {
        #expect(try PluginHarness("hosts_allow").registry.perAddressLimitByPlugin)
        #expect(try PluginHarness("rcpt_ok").registry.perAddressLimitByPlugin == false)
    }

    // MARK: Live: the listener's count

    /// With `max_connections_per_ip` 1 the second connection from 127.0.0.1 is refused by the
    /// plugin (421, as the listener closes), from the very first pair; a third after the first
    /// ended is welcome again.
    @Test func refusesTheSecondConnectionLive() async throws {
        let server = try await TestServer.start(config: ["plugins": ["hosts_allow"]], maxPerIP: 1)
        defer { server.stop() }
        let first = try await server.connect()
        try await first.expect(220)
        let second = try await server.connect()
        let refused = try await second.expect(421, "4.7.0")
        #expect(refused.text == "4.7.0 too many connections from 127.0.0.1, try again later")
        #expect(try await second.isClosed())
        try await first.command("QUIT").expect(221)
        #expect(try await first.isClosed())
        await first.close()
        // The slot is released when the session has ended; give it a moment.
        var greeted = false
        for _ in 0..<50 where !greeted {
            let third = try await server.connect()
            greeted = try await third.reply().code == 220
            await third.close()
            if !greeted { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(greeted)
    }

    /// Good karma (set before hosts_allow by a stub of the karma plugin) allows three more.
    @Test func goodKarmaAllowsMoreLive() async throws {
        var registry = PluginRegistry.testing
        registry.register(KarmaHistoryStub.self, as: "test/karma_history")
        let server = try await TestServer.start(config: ["plugins": ["test/karma_history 6", "hosts_allow"]], plugins: registry, maxPerIP: 1)
        defer { server.stop() }
        var open: [ScriptedSMTPClient] = []
        for _ in 0..<4 {
            let client = try await server.connect()
            try await client.expect(220)
            open.append(client)
        }
        let fifth = try await server.connect()
        try await fifth.expect(421)
        for client in open { await client.close() }
        await fifth.close()
    }

    @Test func tableRefusesLive() async throws {
        let server = try await TestServer.start(config: ["plugins": ["hosts_allow"], "hosts_allow": ["127.0.0.0/8 DENY go away"]])
        defer { server.stop() }
        let client = try await server.connect()
        let refused = try await client.expect(554)
        #expect(refused.text == "5.7.1 go away")
        #expect(try await client.isClosed())
        await client.close()
    }
}

/// Sets the `karma_history` note at pre-connection, as the karma plugin would from its store.
struct KarmaHistoryStub: SMTPPlugin {
    let value: Int
    init(context: PluginContext) throws { value = Int(context.arguments.positional(0) ?? "0") ?? 0 }
    func register(into hooks: inout HookRegistry) {
        hooks.onPreConnection { context in
            context.connection[note: HostsAllow.karmaHistory] = value
            return .declined
        }
    }
}
