import SMTPCore
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

@Suite struct RcptOKTests {
    private let config = [
        "rcpthosts": ["example.org", ".sub.example.net", "EXAMPLE.COM"],
        "morercpthosts": ["more.example"],
    ]

    private func answer(
        _ recipient: String, config: [String: [String]]? = nil,
        connection: Connection = Fixture.connection(), transaction: Transaction = Transaction(id: "t")
    ) async throws -> HookResult {
        let plugin = try RcptOK(context: Fixture.context("rcpt_ok", config: config ?? self.config))
        return try await Fixture.call(
            Fixture.registry(plugin), .rcpt, connection, transaction, .recipient(Fixture.mailbox(recipient), []))
    }

    @Test(arguments: [
        "user@mx.test.example", "user@MX.Test.Example", "user@example.org", "user@example.com",
        "user@a.sub.example.net", "user@deep.a.sub.example.net", "user@more.example", "user@example.org.",
    ])
    func acceptsOurDomains(recipient: String) async throws {
        #expect(try await answer(recipient) == .ok())
    }

    @Test(arguments: ["user@sub.example.net", "user@elsewhere.example", "user@xexample.org", "user@more.example.net", "user@[192.0.2.1]"])
    func deniesOthers(recipient: String) async throws {
        #expect(try await answer(recipient) == .deny("5.7.1 Relaying denied"))
    }

    @Test func meFileCounts() async throws {
        #expect(try await answer("user@configured.example", config: ["me": ["configured.example"]]) == .ok())
    }

    @Test(arguments: ["postmaster", "abuse", "Postmaster"])
    func acceptsBareLocalParts(recipient: String) async throws {
        #expect(try await answer(recipient) == .ok())
    }

    @Test func immuneClientsMaySendAnywhere() async throws {
        let relay = Fixture.connection()
        relay.isRelayClient = true
        #expect(try await answer("user@elsewhere.example", connection: relay) == .ok())

        let whitelisted = Fixture.connection()
        whitelisted[note: .whitelistHost] = true
        #expect(try await answer("user@elsewhere.example", connection: whitelisted) == .ok())

        let transaction = Transaction(id: "t")
        transaction[note: .whitelistSender] = true
        #expect(try await answer("user@elsewhere.example", transaction: transaction) == .ok())
    }
}
