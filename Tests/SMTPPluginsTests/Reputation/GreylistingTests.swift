import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct GreylistingTests {
    static let denied = HookResult.denySoft("This mail is temporarily denied")

    @Test func aNewClientIsRefusedAtMailThenAcceptedAfterTheBlackTimeout() async throws {
        let state = ReputationServices()
        let first = try PluginHarness("greylisting", services: state.services)
        #expect(first.registeredHooks == [.mail, .data])
        #expect(try await first.mail(from: "a@example.org") == Self.denied)
        // Too soon: refused again, and the grey period does not restart.
        state.clock.advance(by: .seconds(2999))
        #expect(try await PluginHarness("greylisting", services: state.services).mail(from: "b@example.org") == Self.denied)
        state.clock.advance(by: .seconds(1))
        #expect(try await PluginHarness("greylisting", services: state.services).mail(from: "c@example.org") == .declined)
        #expect(try await state.store.get("greylisting:192.0.2.10") == "\(Int(state.clock.now.secondsSinceEpoch)):1:1:1")
        // White now: later deliveries pass and renew it, until it sits unused for white_timeout.
        state.clock.advance(by: .seconds(35 * 86_400))
        #expect(try await first.mail(from: "d@example.org") == .declined)
        state.clock.advance(by: .seconds(36 * 86_400))
        #expect(try await first.mail(from: "e@example.org") == Self.denied)
    }

    @Test func aRetryAfterTheGreyTimeoutStartsOver() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting black_timeout 60 grey_timeout 600", services: state.services)
        #expect(try await plugin.mail(from: "a@example.org") == Self.denied)
        state.clock.advance(by: .seconds(601))
        #expect(try await plugin.mail(from: "a@example.org") == Self.denied)
        state.clock.advance(by: .seconds(60))
        #expect(try await plugin.mail(from: "a@example.org") == .declined)
    }

    @Test func theRecordExpiresFromTheStoreWhenItNoLongerMatters() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting black_timeout 60 grey_timeout 600", services: state.services)
        _ = try await plugin.mail(from: "a@example.org")
        state.clock.advance(by: .seconds(599))
        #expect(try await state.store.get("greylisting:192.0.2.10") != nil)
        state.clock.advance(by: .seconds(1))
        #expect(try await state.store.get("greylisting:192.0.2.10") == nil)
    }

    @Test func senderAndRecipientJoinTheTriplet() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting sender 1 recipient 1 black_timeout 10", services: state.services)
        #expect(plugin.registeredHooks == [.rcpt, .data])
        _ = try await plugin.mail(from: "a@example.org")
        #expect(try await plugin.rcpt(to: "u@test.example") == Self.denied)
        state.clock.advance(by: .seconds(10))
        #expect(try await plugin.rcpt(to: "u@test.example") == .declined)
        // Another recipient, another sender: new triplets.
        #expect(try await plugin.rcpt(to: "v@test.example") == Self.denied)
        _ = try await plugin.mail(from: "B@Example.org")
        #expect(try await plugin.rcpt(to: "u@test.example") == Self.denied)
        #expect(try await state.store.get("greylisting:192.0.2.10:a@example.org:u@test.example") != nil)
        #expect(try await state.store.get("greylisting:192.0.2.10:b@example.org:u@test.example") != nil)
    }

    @Test func remoteIPZeroTracksTheSenderAlone() async throws {
        let state = ReputationServices()
        _ = try await PluginHarness("greylisting remote_ip 0 sender 1", services: state.services).mail(from: "a@example.org")
        #expect(try await state.store.get("greylisting:a@example.org") != nil)
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("greylisting remote_ip 0") }
    }

    @Test func perRecipientChecksAtRcptAndANullSenderIsRefusedAtData() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting per_recipient 1", services: state.services)
        #expect(plugin.registeredHooks == [.rcpt, .data])
        _ = try await plugin.mail(from: "<>")
        #expect(try await plugin.rcpt(to: "u@test.example") == .declined)
        #expect(try await plugin.run(.data) == Self.denied)
    }

    @Test func denyLateRefusesAtData() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting deny_late 1", services: state.services)
        #expect(try await plugin.mail(from: "a@example.org") == .declined)
        #expect(try await plugin.rcpt(to: "u@test.example") == .declined)
        #expect(try await plugin.run(.data) == Self.denied)
    }

    @Test func rejectZeroRecordsWithoutRefusing() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting reject 0", services: state.services)
        #expect(try await plugin.mail(from: "a@example.org") == .declined)
        #expect(try await state.store.get("greylisting:192.0.2.10") != nil)
    }

    @Test func rejectNaughtyLeavesTheRefusalToNaughty() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting reject naughty", services: state.services)
        #expect(try await plugin.mail(from: "a@example.org") == .declined)
        #expect(plugin.connection[note: .naughty] == "This mail is temporarily denied")
        #expect(plugin.connection[note: .naughtyRejectType] == "temp")
    }

    @Test func immuneClientsAreSkipped() async throws {
        let state = ReputationServices()
        let relay = try PluginHarness("greylisting", services: state.services)
        relay.connection.isRelayClient = true
        #expect(try await relay.mail(from: "a@example.org") == .declined)
        let whitelisted = try PluginHarness("greylisting", services: state.services)
        whitelisted.connection[note: .whitelistHost] = true
        #expect(try await whitelisted.mail(from: "a@example.org") == .declined)
        #expect(try await state.store.get("greylisting:192.0.2.10") == nil)
    }

    @Test(arguments: [
        ("192.0.2.10", nil as String?, true), ("192.0.2.11", nil, false),
        ("198.51.100.77", nil, true), ("203.0.113.9", nil, true),
        ("192.0.2.11", "mx1.friendly.example", true), ("192.0.2.11", "friendly.example", true),
        ("192.0.2.11", "unfriendly.example", false), ("192.0.2.11", "mail42.example.net", true),
        ("192.0.2.11", "mail.example.net", false),
    ])
    func excludeFilesSkipListedClients(ip: String, host: String?, excluded: Bool) async throws {
        let state = ReputationServices()
        let config = [
            "greylist_exclude_files": ["clients"],
            "clients": ["192.0.2.10  # one host", "198.51.100.", "203.0.113.0/24", "friendly.example", "/^mail[0-9]+\\.example\\.net$/"],
        ]
        let plugin = try PluginHarness("greylisting", config: config, services: state.services, remoteIP: ip)
        plugin.connection.remoteHost = host
        #expect(try await plugin.mail(from: "a@example.org") == (excluded ? .declined : Self.denied))
    }

    @Test func aMissingExcludeFileOrBadLineStopsTheLoad() {
        #expect(throws: PluginHarness.LoadError.self) {
            try PluginHarness("greylisting", config: ["greylist_exclude_files": ["/nonexistent/greylist-clients"]])
        }
        #expect(throws: PluginHarness.LoadError.self) {
            try PluginHarness("greylisting", config: ["greylist_exclude_files": ["clients"], "clients": ["10.0.0.0/40"]])
        }
    }

    @Test func theConfigFileSetsDefaultsAndThePluginLineWins() throws {
        let pairs = [("black_timeout", "60"), ("white_timeout", "100"), ("black_timeout", "30")]
        let settings = try Greylisting.settings(from: pairs)
        #expect(settings.blackTimeout == 30)
        #expect(settings.whiteTimeout == 100)
        #expect(settings.greyTimeout == 12_000)
    }

    @Test func theConfigFileIsRead() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("greylisting black_timeout 20", config: ["denysoft_greylist": ["black_timeout 5", "grey_timeout 50"]], services: state.services)
        _ = try await plugin.mail(from: "a@example.org")
        state.clock.advance(by: .seconds(10))
        #expect(try await plugin.mail(from: "a@example.org") == Self.denied)  // line's 20 beats the file's 5
        state.clock.advance(by: .seconds(41))
        #expect(try await plugin.mail(from: "a@example.org") == Self.denied)  // file's grey_timeout 50 passed
    }

    @Test(arguments: [
        "greylisting colour blue", "greylisting sender 2", "greylisting black_timeout soon", "greylisting p0f genre,windows",
        "greylisting geoip US", "greylisting mode testonly", "greylisting reject maybe", "greylisting deny_late",
    ])
    func badArgumentsStopTheLoad(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test func qpsmtpdStorageArgumentsAreAccepted() throws {
        _ = try PluginHarness("greylisting db_dir /var/lib/qpsmtpd/greylisting nfslock 1 mode denysoft loglevel 6")
        _ = try PluginHarness("denysoft_greylist")
    }

    @Test func aBrokenStoreLetsMailThrough() async throws {
        let plugin = try PluginHarness("greylisting", services: PluginServices(hostName: "mx.test.example", store: FailingStateStore()))
        #expect(try await plugin.mail(from: "a@example.org") == .declined)
    }

    @Test func recordsParseAndPrint() {
        #expect(GreylistRecord("1700000000:2:5:1") == GreylistRecord(first: 1_700_000_000, tries: 2, blocked: 5, deliveries: 1))
        #expect(GreylistRecord("garbage") == GreylistRecord())
        #expect(GreylistRecord(first: 5, tries: 1, blocked: 0, deliveries: 0).text == "5:1:0:0")
    }
}
