import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct HeadersTests {
    /// 2026-01-01 00:00:00 UTC, where the manual clock starts.
    private static let clock = ManualClock()

    private func harness(_ line: String = "headers") throws -> PluginHarness {
        try PluginHarness(line, services: PluginServices(hostName: "mx.test.example", clock: Self.clock))
    }

    private func check(_ line: String, _ message: String) async throws -> (HookResult, PluginHarness) {
        let harness = try harness(line)
        try harness.setMessage(message)
        return (try await harness.dataPost(), harness)
    }

    @Test func acceptsAMessageWithAFrom() async throws {
        let (result, harness) = try await check("headers", "From: a@example.org\nSubject: hi\n\nbody\n")
        #expect(result == .declined)
        #expect(harness.connection[note: .karma] == nil || harness.connection[note: .karma] == 0)
    }

    @Test func refusesAnEmptyMessage() async throws {
        let harness = try harness()
        try harness.setMessage("")
        #expect(try await harness.dataPost() == .deny("You must send some data first"))
    }

    @Test(arguments: ["Subject: hi\n\nbody\n", "From:\nSubject: hi\n\nbody\n", "From:   \n\nbody\n"])
    func refusesAMissingOrEmptyFrom(message: String) async throws {
        let (result, harness) = try await check("headers", message)
        #expect(result == .deny("We require a valid From header"))
        #expect(harness.connection[note: .karma] == -1)
    }

    @Test func requireListsTheHeaders() async throws {
        let (missingDate, _) = try await check("headers require From,Date", "From: a@example.org\n\nbody\n")
        #expect(missingDate == .deny("We require a valid Date header"))
        let (none, _) = try await check("headers require Subject", "Subject: x\n\nbody\n")
        #expect(none == .declined, "From is no longer required")
    }

    @Test(arguments: Headers.singular)
    func refusesDuplicates(name: String) async throws {
        let (result, _) = try await check("headers require X-Any", "X-Any: 1\n\(name): a\n\(name): b\n\nbody\n")
        #expect(result == .deny("Only one \(name) header allowed. See RFC 5322, Section 3.6"))
    }

    @Test func repeatedReceivedIsFine() async throws {
        let (result, _) = try await check("headers", "Received: a\nReceived: b\nFrom: x@example.org\n\nbody\n")
        #expect(result == .declined)
    }

    @Test func everyFaultCostsKarma() async throws {
        let (_, harness) = try await check("headers require From,Date", "To: a\nTo: b\n\nbody\n")
        #expect(harness.connection[note: .karma] == -3)
    }

    @Test(arguments: [
        ("Mon, 29 Dec 2025 00:00:00 +0000", HookResult.declined),
        ("Sun, 28 Dec 2025 23:59:00 +0000", .deny("The Date header is too far in the past")),
        ("Sat, 3 Jan 2026 00:00:00 +0000", .declined),
        ("4 Jan 2026 00:00:01 GMT", .deny("The Date header is too far in the future")),
        ("Sat, 03 Jan 2026 01:00:00 +0100", .declined),
        ("Sat, 03 Jan 2026 00:00:01 -0100", .deny("The Date header is too far in the future")),
        ("not a date", .declined),
    ])
    func dateWindow(date: String, expected: HookResult) async throws {
        let (result, _) = try await check("headers past 3 future 2", "From: a@example.org\nDate: \(date)\n\nbody\n")
        #expect(result == expected, "\(date)")
    }

    @Test func noWindowNoDateCheck() async throws {
        let (result, _) = try await check("headers", "From: a@example.org\nDate: Mon, 1 Jan 1990 00:00:00 +0000\n\nbody\n")
        #expect(result == .declined)
    }

    @Test func rejectZeroOnlyLogs() async throws {
        let (result, _) = try await check("headers reject 0", "Subject: x\n\nbody\n")
        #expect(result == .declined)
    }

    @Test func rejectTypeTemp() async throws {
        let (result, _) = try await check("headers reject_type temp", "Subject: x\n\nbody\n")
        #expect(result == .denySoft("We require a valid From header"))
    }

    @Test func rejectNaughtyLeavesANote() async throws {
        let (result, harness) = try await check("headers reject naughty", "Subject: x\n\nbody\n")
        #expect(result == .declined)
        #expect(harness.connection[note: .naughty] == "We require a valid From header")
    }

    @Test func immuneClientsSkipTheHeaderChecks() async throws {
        let harness = try harness()
        harness.connection.isRelayClient = true
        try harness.setMessage("Subject: x\n\nbody\n")
        #expect(try await harness.dataPost() == .declined)
    }

    @Test(arguments: ["headers past", "headers past 0", "headers future x", "headers require", "headers require From:", "headers reject 2", "headers reject_type maybe", "headers color blue"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    @Test func oldNameIsTheSamePlugin() async throws {
        let (result, _) = try await check("check_basicheaders", "Subject: x\n\nbody\n")
        #expect(result == .deny("We require a valid From header"))
    }

    @Test func readsRFC5322Dates() {
        #expect(MessageDate.secondsSinceEpoch("Thu, 1 Jan 1970 00:00:00 +0000") == 0)
        #expect(MessageDate.secondsSinceEpoch("Tue, 1 Jul 2003 10:52:37 +0200") == 1_057_049_557)
        #expect(MessageDate.secondsSinceEpoch("1 Jul 03 08:52 GMT") == 1_057_049_520)
        #expect(MessageDate.secondsSinceEpoch("Tue, 1 Jul 2003 10:52:37 +0200 (CEST)") == 1_057_049_557)
        #expect(MessageDate.secondsSinceEpoch("Thu,1 Jan 1970 01:00:00 EDT") == 18_000)
        #expect(MessageDate.secondsSinceEpoch("yesterday") == nil)
        #expect(MessageDate.secondsSinceEpoch("32 Jan 2003 10:00:00 +0000") == nil)
        #expect(MessageDate.secondsSinceEpoch("1 Jan 2003 25:00:00 +0000") == nil)
    }

    /// The refusal as the client reads it, and an empty DATA.
    @Test(arguments: SMTPTestSetup.allCases)
    func inASession(setup: SMTPTestSetup) async throws {
        let queue = CapturedMail()
        let config = ["plugins": ["headers", "rcpt_ok", queue.pluginLine], "rcpthosts": ["test.example"]]
        try await SMTPTestClient.with(setup, config: config) { client in
            try await client.greeting()
            try await client.helo()
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            let refused = try await client.data("Subject: x\n\nhi\n").expect(554)
            #expect(refused.text == "5.7.1 We require a valid From header")
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            let empty = try await client.data("").expect(554)
            #expect(empty.text == "5.7.1 You must send some data first")
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
            try await client.data("From: s@x.example\nSubject: x\n\nhi\n").expect(250)
        }
        #expect(queue.messages.count == 1)
    }
}
