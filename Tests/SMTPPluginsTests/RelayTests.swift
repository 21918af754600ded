import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

private let addressVectors: [(String, [UInt8])] = [
        ("192.0.2.1", [192, 0, 2, 1] as [UInt8]),
        ("::", [UInt8](repeating: 0, count: 16)),
        ("::1", [UInt8](repeating: 0, count: 15) + [1]),
        ("1::", [0, 1] + [UInt8](repeating: 0, count: 14)),
        ("2001:DB8::1", [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]),
        ("1:2:3:4:5:6:7:8", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]),
        ("1:2:3:4:5:6:7::", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]),
        ("::ffff:192.0.2.1", [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 1]),
        ("1:2:3:4:5:6:192.0.2.1", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 192, 0, 2, 1]),
        ("fe80::1%eth0", [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1]),
]

@Suite struct IPAddressTests {
    @Test(arguments: addressVectors)
    func parses(text: String, octets: [UInt8]) {
        #expect(IPAddress(text)?.octets == octets)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.+4", "1::2::3", ":1", "1:", "12345::", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4::5:6:7:8", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "g::1", "example.com",
    ])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func unmapsV4MappedAddresses() {
        #expect(IPAddress("::ffff:10.1.2.3")?.unmappedV4 == IPAddress("10.1.2.3"))
        #expect(IPAddress("::10.1.2.3")?.unmappedV4 == nil)
    }
}

@Suite struct IPMatcherTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.200.3.4", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("192.0.2.128/25", "192.0.2.200", true),
        ("192.0.2.128/25", "192.0.2.127", false),
        ("192.0.2.7/32", "192.0.2.7", true),
        ("0.0.0.0/0", "198.51.100.1", true),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("2001:db8:0:8000::/49", "2001:db8:0:80ff::1", true),
        ("2001:db8:0:8000::/49", "2001:db8:0:7fff::1", false),
        ("192.168.", "192.168.44.1", true),
        ("192.168.", "192.169.0.1", false),
        ("10.", "10.9.9.9", true),
        ("2001:db8:", "2001:db8:1::5", true),
        ("2001:db8:", "2001:0db8::5", true),
        ("2001:db8:", "2001:db80::5", false),
        ("2001:db8::", "2001:db8::5", true),
        ("203.0.113.7", "203.0.113.7", true),
        ("203.0.113.7", "203.0.113.70", false),
        ("2001:DB8::7", "2001:db8:0::7", true),
        ("10.0.0.0/8", "::ffff:10.1.2.3", true),
        ("192.168.", "::ffff:192.168.1.1", true),
        ("10.0.0.0/8", "not an address", false),
    ])
    func matches(entry: String, ip: String, expected: Bool) {
        #expect(IPMatcher(entries: [entry]).matches(ip) == expected)
    }

    @Test func collectsInvalidEntries() {
        let matcher = IPMatcher(entries: ["10.0.0.0/33", "example.com", "1.2.3.4/x", "::/129", "10.0.0.1 # office"])
        #expect(matcher.invalidEntries == ["10.0.0.0/33", "example.com", "1.2.3.4/x", "::/129"])
        #expect(matcher.matches("10.0.0.1"))
    }
}

/// `relay` with the process environment replaced by `RelayWithEnvironment.environment`, so the
/// harness can load it from a plugin line like the real one.
struct RelayWithEnvironment: SMTPPlugin {
    @TaskLocal static var environment: [String: String] = [:]
    let relay: Relay

    init(context: PluginContext) throws {
        let environment = Self.environment
        relay = try Relay(context: context) { environment[$0] }
    }

    func register(into hooks: inout HookRegistry) { relay.register(into: &hooks) }
}

@Suite struct RelayTests {
    private func harness(
        _ arguments: String = "", config: [String: [String]] = [:], environment: [String: String] = [:], ip: String = "192.0.2.10"
    ) throws -> PluginHarness {
        try RelayWithEnvironment.$environment.withValue(environment) {
            try PluginHarness(RelayWithEnvironment.self, "relay " + arguments, config: config, remoteIP: ip)
        }
    }

    /// Runs the connect hook for a client at `ip`; true if it may relay.
    private func relays(config: [String: [String]] = [:], environment: [String: String] = [:], _ ip: String) async throws -> Bool {
        let relay = try harness(config: config, environment: environment, ip: ip)
        #expect(try await relay.connect() == .declined)
        return relay.connection.isRelayClient
    }

    @Test func relayclientsByCIDRPrefixAndAddress() async throws {
        let config = ["relayclients": ["10.0.0.0/8", "192.168.", "2001:db8::/32", "2001:db9:1:", "203.0.113.7"]]
        #expect(try await relays(config: config, "10.1.2.3"))
        #expect(try await relays(config: config, "192.168.7.7"))
        #expect(try await relays(config: config, "2001:db8::25"))
        #expect(try await relays(config: config, "2001:db9:1:2::1"))
        #expect(try await relays(config: config, "203.0.113.7"))
        #expect(try await relays(config: config, "::ffff:10.9.9.9"))
        #expect(try await !relays(config: config, "203.0.113.8"))
        #expect(try await !relays(config: config, "2001:db9:2::1"))
        #expect(try await !relays(config: config, "127.0.0.1"))
    }

    @Test func morerelayclientsIsAPlainList() async throws {
        let config = ["morerelayclients": ["198.51.100.", "198.18.0.1"]]
        #expect(try await relays(config: config, "198.51.100.9"))
        #expect(try await relays(config: config, "198.18.0.1"))
        #expect(try await !relays(config: config, "198.18.0.2"))
    }

    @Test func ipv6LoopbackAlwaysRelays() async throws {
        #expect(try await relays("::1"))
        #expect(try await relays("0:0:0:0:0:0:0:1"))
        #expect(try await !relays("127.0.0.1"))
    }

    @Test func relayclientEnvironment() async throws {
        #expect(try await relays(environment: ["RELAYCLIENT": ""], "198.51.100.1"))
        #expect(try await !relays(environment: ["OTHER": "1"], "198.51.100.1"))
    }

    @Test func norelayclientsOverridesEverything() async throws {
        let config = ["relayclients": ["10.0.0.0/8"], "norelayclients": ["10.0.0.5", "10.1."]]
        let environment = ["RELAYCLIENT": "1"]
        #expect(try await !relays(config: config, environment: environment, "10.0.0.5"))
        #expect(try await !relays(config: config, environment: environment, "10.1.0.9"))
        #expect(try await relays(config: config, environment: environment, "10.2.0.9"))
        #expect(try await relays(config: config, environment: environment, "198.51.100.1"))  // RELAYCLIENT, not in norelayclients
    }

    @Test func norelayclientsClearsAnEarlierFlag() async throws {
        let relay = try harness(config: ["norelayclients": ["192.0.2.10"]], ip: "192.0.2.10")
        relay.connection.isRelayClient = true
        try await relay.connect()
        #expect(!relay.connection.isRelayClient)
    }

    @Test func onlyAnswersRecipients() async throws {
        let config = ["relayclients": ["10."]]
        let inside = try harness("only 1", config: config, ip: "10.0.0.1")
        let outside = try harness("only 1", config: config, ip: "192.0.2.99")
        for relay in [inside, outside] { try await relay.connect() }
        #expect(try await inside.rcpt(to: "a@elsewhere.example") == .ok())
        #expect(try await outside.rcpt(to: "a@elsewhere.example") == .deny("relaying denied"))
    }

    @Test func withoutOnlyNoRecipientHook() throws {
        #expect(try harness().registeredHooks == [.connect])
        #expect(try harness("only 0").registeredHooks == [.connect])
        #expect(throws: PluginHarness.LoadError.self) { try harness("only yes") }
    }
}
