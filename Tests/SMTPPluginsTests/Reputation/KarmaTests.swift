import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct KarmaTests {
    private let ip = "192.0.2.10"

    /// Puts the test address in the penalty box, `daysAgo` days ago.
    private func box(_ state: ReputationServices, daysAgo: Double) async throws {
        let started = state.clock.now.secondsSinceEpoch - daysAgo * 86_400
        try await state.store.set("karma:\(ip):penalty", String(started))
        _ = try await state.store.increment("karma:\(ip):naughty", by: 1)
    }

    @Test func anUnknownClientPasses() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("karma", services: state.services)
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .karma] == 0)
        #expect(plugin.connection[note: Karma.history] == 0)
        #expect(try await state.store.get("karma:\(ip):connects") == "1")
    }

    @Test func thePenaltyBoxRefusesAtConnectWithRejectOne() async throws {
        for mode in ["1", "connect"] {
            let state = ReputationServices()
            try await box(state, daysAgo: 0.25)
            let plugin = try PluginHarness("karma reject \(mode)", services: state.services)
            #expect(try await plugin.connect() == .denyDisconnect("You were naughty. You cannot connect for 0.75 more days."))
        }
    }

    @Test func penaltyDaysAndRejectTypeApply() async throws {
        let state = ReputationServices()
        try await box(state, daysAgo: 1)
        let plugin = try PluginHarness("karma reject 1 penalty_days 3 reject_type temp", services: state.services)
        #expect(try await plugin.connect() == .denySoft("You were naughty. You cannot connect for 2.00 more days."))
        state.clock.advance(by: .seconds(2 * 86_400))
        #expect(try await PluginHarness("karma reject 1 penalty_days 3", services: state.services).connect() == .declined)
    }

    @Test func byDefaultTheRefusalIsLeftToNaughty() async throws {
        let state = ReputationServices()
        try await box(state, daysAgo: 0.5)
        let plugin = try PluginHarness("karma", services: state.services)
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .naughty] == "You were naughty. You cannot connect for 0.50 more days.")
        #expect(plugin.connection[note: .naughtyRejectType] == "disconnect")
    }

    @Test func rejectZeroOnlyLogs() async throws {
        let state = ReputationServices()
        try await box(state, daysAgo: 0.5)
        let plugin = try PluginHarness("karma reject 0", services: state.services)
        #expect(try await plugin.connect() == .declined)
        #expect(plugin.connection[note: .naughty] == nil)
    }

    @Test func aNaughtyConnectionGoesToThePenaltyBox() async throws {
        let state = ReputationServices()
        let first = try PluginHarness("karma reject 1", services: state.services)
        try await first.connect()
        first.connection[note: .karma] = -1
        try await first.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):naughty") == "1")
        let second = try PluginHarness("karma reject 1", services: state.services)
        #expect(try await second.connect() == .denyDisconnect("You were naughty. You cannot connect for 1.00 more days."))
        // Its refusal and disconnect are not held against it again.
        try await second.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):naughty") == "1")
    }

    @Test func niceConnectionsOffsetNaughtyOnesUpToNegative() async throws {
        let state = ReputationServices()
        try await state.store.set("karma:\(ip):nice", "1")
        let plugin = try PluginHarness("karma reject 1 negative 1", services: state.services)
        try await plugin.connect()
        plugin.connection[note: .karma] = -1
        try await plugin.run(.disconnect)
        // 1 nice − 1 naughty = 0: above −1, no penalty.
        #expect(try await state.store.get("karma:\(ip):penalty") == nil)
        let again = try PluginHarness("karma reject 1 negative 1", services: state.services)
        try await again.connect()
        again.connection[note: .karma] = -1
        try await again.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):penalty") != nil)
    }

    @Test func strikesBoxAConnectionThatWasBadEnoughOnItsOwn() async throws {
        let state = ReputationServices()
        try await state.store.set("karma:\(ip):nice", "5")
        let mild = try PluginHarness("karma strikes 2", services: state.services)
        try await mild.connect()
        mild.connection[note: .karma] = -1
        try await mild.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):penalty") == nil)
        let bad = try PluginHarness("karma strikes 2", services: state.services)
        try await bad.connect()
        bad.connection[note: .karma] = -2
        try await bad.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):penalty") != nil)
    }

    @Test func positiveKarmaIsNiceAndAcceptedMessagesRaiseIt() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("karma", services: state.services)
        try await plugin.connect()
        try await plugin.run(.queuePost)
        #expect(plugin.connection[note: .karma] == 1)
        try await plugin.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):nice") == "1")
        #expect(try await state.store.get("karma:\(ip):naughty") == nil)
    }

    @Test func otherPluginsRefusalsCostKarma() async throws {
        let state = ReputationServices()
        let plugin = try PluginHarness("karma", "rcpt_ok", config: ["rcpthosts": ["test.example"]], services: state.services)
        try await plugin.connect()
        _ = try await plugin.mail(from: "a@example.org")
        #expect(try await plugin.rcpt(to: "u@elsewhere.example").isDenial)
        #expect(try await plugin.rcpt(to: "v@elsewhere.example").isDenial)
        #expect(plugin.connection[note: .karma] == -2)
    }

    @Test func aBadHistoryLimitsRecipients() async throws {
        let state = ReputationServices()
        try await state.store.set("karma:\(ip):naughty", "2")
        try await state.store.set("karma:\(ip):nice", "1")
        let plugin = try PluginHarness("karma", services: state.services)
        try await plugin.connect()
        _ = try await plugin.mail(from: "a@example.org")
        #expect(try await plugin.rcpt(to: "u@test.example") == .declined)
        #expect(try await plugin.rcpt(to: "v@test.example") == .done(SMTPReply(452, .tooManyRecipients, "too many recipients for karma 0 (h: -1)")))
        let tolerant = try PluginHarness("karma reject 0", services: state.services)
        try await tolerant.connect()
        _ = try await tolerant.mail(from: "a@example.org")
        _ = try await tolerant.rcpt(to: "u@test.example")
        #expect(try await tolerant.rcpt(to: "v@test.example") == .declined)
    }

    @Test func aGoodHistoryHasNoRecipientLimit() async throws {
        let state = ReputationServices()
        try await state.store.set("karma:\(ip):nice", "1")
        let plugin = try PluginHarness("karma", services: state.services)
        try await plugin.connect()
        _ = try await plugin.mail(from: "a@example.org")
        for name in ["u", "v", "w"] { #expect(try await plugin.rcpt(to: "\(name)@test.example") == .declined) }
    }

    @Test func karmaTLDsAdjustByHostName() async throws {
        let config = ["karma_tlds": ["ru:-2", "co.uk +1", "test 0"]]
        for (host, expected) in [("mail.example.ru", -2), ("mx.example.co.uk", 1), ("mx.example.org", 0)] {
            let plugin = try PluginHarness("karma", config: config, services: ReputationServices().services)
            plugin.connection.remoteHost = host
            try await plugin.connect()
            #expect(plugin.connection[note: .karma] == expected)
        }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("karma", config: ["karma_tlds": ["ru minus two"]]) }
    }

    @Test func immuneClientsAreNeitherJudgedNorRecorded() async throws {
        let state = ReputationServices()
        try await box(state, daysAgo: 0.5)
        let plugin = try PluginHarness("karma reject 1", services: state.services)
        plugin.connection.isRelayClient = true
        #expect(try await plugin.connect() == .declined)
        plugin.connection[note: .karma] = -5
        try await plugin.run(.disconnect)
        #expect(try await state.store.get("karma:\(ip):naughty") == "1")
    }

    @Test func aBrokenStoreLetsClientsThrough() async throws {
        let plugin = try PluginHarness("karma reject 1", services: PluginServices(hostName: "mx.test.example", store: FailingStateStore()))
        #expect(try await plugin.connect() == .declined)
        plugin.connection[note: .karma] = -3
        try await plugin.run(.disconnect)
    }

    @Test(arguments: [
        "karma negative 0", "karma strikes x", "karma penalty_days -1", "karma penalty_days soon",
        "karma reject zombie", "karma reject_type sometimes", "karma colour blue", "karma negative",
    ])
    func badArgumentsStopTheLoad(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test func daysPrintWithTwoDecimals() {
        #expect(Karma.days(0.99) == "0.99")
        #expect(Karma.days(1) == "1.00")
        #expect(Karma.days(0.055) == "0.06")
        #expect(Karma.days(12.5) == "12.50")
    }
}
