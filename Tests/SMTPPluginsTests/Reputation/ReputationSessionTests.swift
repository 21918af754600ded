import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// The stateful plugins in whole sessions, so the replies are checked as the client reads them.
/// Sessions connect from 127.0.0.1; a shared store carries state from one session to the next.
@Suite struct ReputationSessionTests {
    private let local = ["rcpthosts": ["test.example"]]

    private func config(_ plugins: [String], _ extra: [String: [String]] = [:]) -> [String: [String]] {
        var files = local.merging(extra) { $1 }
        files["plugins"] = plugins
        return files
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func greylistingRefusesAtMailWith450(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: config(["greylisting", "rcpt_ok"])) { client in
            try await client.greeting()
            try await client.helo()
            let reply = try await client.mail(from: "a@example.org").expect(450, "4.7.1")
            #expect(reply.text == "4.7.1 This mail is temporarily denied")
        }
    }

    @Test func greylistingAcceptsTheRetryAfterTheBlackTimeout() async throws {
        // Sessions run on the real clock: a one-second black timeout, waited out.
        let store = InMemoryStateStore()
        let queue = CapturedMail()
        let files = config(["greylisting black_timeout 1", "rcpt_ok", queue.pluginLine])
        try await SMTPTestClient.with(.session, config: files, store: store) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(450, "4.7.1")
        }
        try await Task.sleep(for: .milliseconds(1100))
        try await SMTPTestClient.with(.session, config: files, store: store) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            try await client.data("Subject: x\n\nhi\n").expect(250)
        }
        #expect(queue.messages.count == 1)
    }

    @Test func greylistingPerRecipientRefusesAtRcptAndDenyLateAtData() async throws {
        try await SMTPTestClient.with(.session, config: config(["greylisting recipient 1", "rcpt_ok"])) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(250)
            let reply = try await client.rcpt(to: "u@test.example").expect(450, "4.7.1")
            #expect(reply.text == "4.7.1 This mail is temporarily denied")
        }
        try await SMTPTestClient.with(.session, config: config(["greylisting deny_late 1", "rcpt_ok"])) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            let reply = try await client.command("DATA").expect(451, "4.7.1")
            #expect(reply.text == "4.7.1 This mail is temporarily denied")
        }
    }

    /// A refused recipient costs karma; at disconnect the client goes to the penalty box, and its
    /// next connection is refused at once.
    @Test(arguments: SMTPTestSetup.allCases)
    func karmaPenaltyBoxRefusesTheNextConnection(setup: SMTPTestSetup) async throws {
        let store = InMemoryStateStore()
        let files = config(["karma reject connect", "rcpt_ok"])
        try await SMTPTestClient.with(setup, config: files, store: store) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(250)
            try await client.rcpt(to: "u@elsewhere.example").expect(550)
            try await client.quit()
        }
        #expect(try await store.get("karma:127.0.0.1:naughty") == "1")
        try await SMTPTestClient.with(setup, config: files, store: store) { client in
            let reply = try await client.reply().expect(554, "5.7.1")
            #expect(reply.text == "5.7.1 You were naughty. You cannot connect for 1.00 more days.")
            #expect(try await client.isClosed())
        }
    }

    @Test func karmaLimitsRecipientsWith452() async throws {
        let store = InMemoryStateStore()
        try await store.set("karma:127.0.0.1:naughty", "1")
        try await SMTPTestClient.with(.session, config: config(["karma", "rcpt_ok"]), store: store) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            let reply = try await client.rcpt(to: "v@test.example").expect(452, "4.5.3")
            #expect(reply.text == "4.5.3 too many recipients for karma 0 (h: -1)")
        }
    }

    /// `reject naughty` on karma, carried out by naughty at RCPT: 550 and the connection closes.
    @Test(arguments: SMTPTestSetup.allCases)
    func naughtyCarriesOutKarmasDeferredRefusal(setup: SMTPTestSetup) async throws {
        let store = InMemoryStateStore()
        try await store.set("karma:127.0.0.1:penalty", String(SystemPluginClock().now.secondsSinceEpoch))
        try await SMTPTestClient.with(setup, config: config(["karma", "naughty", "rcpt_ok"]), store: store) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "a@example.org").expect(250)
            let reply = try await client.rcpt(to: "u@test.example").expect(550, "5.7.1")
            #expect(reply.text == "5.7.1 You were naughty. You cannot connect for 1.00 more days.")
            #expect(try await client.isClosed())
        }
    }

    @Test func naughtyWithATemporaryTypeSays421() async throws {
        let store = InMemoryStateStore()
        try await store.set("karma:127.0.0.1:penalty", String(SystemPluginClock().now.secondsSinceEpoch))
        try await SMTPTestClient.with(.session, config: config(["karma reject_type temp", "naughty reject mail", "rcpt_ok"]), store: store) { client in
            try await client.greeting()
            try await client.helo()
            let reply = try await client.mail(from: "a@example.org").expect(450, "4.7.1")
            #expect(reply.text == "4.7.1 You were naughty. You cannot connect for 1.00 more days.")
        }
    }
}
