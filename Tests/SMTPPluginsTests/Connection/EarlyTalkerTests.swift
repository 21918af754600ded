import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct EarlyTalkerTests {
    private static let text = "Connecting host started transmitting before SMTP greeting"
    private static let note = NoteKey<Bool>("earlytalker")

    /// A client that sent before the greeting: the harness's transport reports it at once.
    private func talker(_ line: String) throws -> PluginHarness {
        let harness = try PluginHarness(line)
        harness.connection.outOfTurnInput.noteArrival()
        return harness
    }

    @Test func quietClientIsGreetedAfterTheWait() async throws {
        let harness = try PluginHarness("earlytalker wait 0.3")
        let start = ContinuousClock.now
        #expect(try await harness.connect() == .declined)
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(harness.connection[note: Self.note] == nil)
    }

    @Test func talkerIsRefusedPermanentlyByDefault() async throws {
        let harness = try talker("earlytalker")
        #expect(try await harness.connect() == .deny(Self.text))
        #expect(harness.connection[note: Self.note] == true)
    }

    /// The answer comes as soon as the client talks, not at the end of the wait.
    @Test func answersAsSoonAsTheClientTalks() async throws {
        let harness = try PluginHarness("earlytalker wait 20")
        let input = harness.connection.outOfTurnInput
        let start = ContinuousClock.now
        Task {
            try await Task.sleep(for: .milliseconds(200))
            input.noteArrival()
        }
        #expect(try await harness.connect() == .deny(Self.text))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test(arguments: [
        ("earlytalker reject_type temp", HookResult.denySoft(text)),
        ("earlytalker reject_type disconnect", .denyDisconnect(text)),
        ("earlytalker reject 0", .declined),
        ("earlytalker action log", .declined),
        ("earlytalker action deny", .deny(text)),
        ("earlytalker action denysoft", .denySoft(text)),
        ("earlytalker action denysoft reject_type perm", .deny(text)),
        ("check_earlytalker", .deny(text)),
        ("async/earlytalker", .deny(text)),
    ])
    func refusalFollowsTheArguments(line: String, expected: HookResult) async throws {
        #expect(try await talker(line).connect() == expected)
    }

    @Test func rejectNaughtyLeavesItToNaughty() async throws {
        let harness = try talker("earlytalker reject naughty")
        #expect(try await harness.connect() == .declined)
        #expect(harness.connection[note: .naughty] == Self.text)
    }

    @Test func deferRejectRefusesMailInstead() async throws {
        let harness = try talker("earlytalker defer-reject 1")
        #expect(try await harness.connect() == .declined)
        #expect(harness.connection[note: Self.note] == true)
        #expect(harness.connection[note: .karma] == -1)
        // qpsmtpd's defer-reject without reject_type refuses temporarily.
        #expect(try await harness.mail(from: "a@example.org") == .denySoft(Self.text))
    }

    @Test func deferRejectWithAType() async throws {
        let harness = try talker("earlytalker defer-reject 1 reject_type perm")
        #expect(try await harness.connect() == .declined)
        #expect(try await harness.mail(from: "a@example.org") == .deny(Self.text))
    }

    @Test func deferRejectLetsAQuietClientMail() async throws {
        let harness = try PluginHarness("earlytalker defer-reject 1 wait 0")
        #expect(try await harness.connect() == .declined)
        #expect(try await harness.mail(from: "a@example.org") == .declined)
    }

    @Test func checkAtDataOnly() async throws {
        // A wait of 2 s that connect must not take (the bound leaves a loaded machine room).
        let harness = try talker("earlytalker check-at DATA wait 2")
        let start = ContinuousClock.now
        #expect(try await harness.connect() == .declined)
        #expect(ContinuousClock.now - start < .seconds(1), "no wait at connect")
        #expect(try await harness.run(.data) == .deny(Self.text))
    }

    @Test func checkAtBoth() async throws {
        let harness = try PluginHarness("earlytalker check-at connect check-at data wait 0")
        #expect(try await harness.connect() == .declined)
        #expect(try await harness.run(.data) == .declined)
        harness.connection.outOfTurnInput.noteArrival()
        #expect(try await harness.run(.data) == .deny(Self.text))
    }

    @Test func immuneClientsAreNotChecked() async throws {
        let harness = try talker("earlytalker")
        harness.connection.isRelayClient = true
        #expect(try await harness.connect() == .declined)
    }

    @Test(arguments: [
        "earlytalker wait", "earlytalker wait -1", "earlytalker wait soon", "earlytalker check-at HELO",
        "earlytalker action maybe", "earlytalker defer-reject perhaps", "earlytalker reject 3", "earlytalker color blue",
    ])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }

    /// A client that sends EHLO before the greeting gets 554 and the connection closes; the
    /// transport (codec, test feed) is what notices the bytes.
    @Test(arguments: SMTPTestSetup.allCases)
    func talkerInASession(setup: SMTPTestSetup) async throws {
        let client = try await SMTPTestClient.start(setup, config: ["plugins": ["earlytalker wait 5"]])
        try await client.send(raw: "EHLO spammer.example\r\n")
        let reply = try await client.reply().expect(554, "5.7.1")
        #expect(reply.text == "5.7.1 \(Self.text)")
        #expect(try await client.isClosed())
        await client.close()
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func quietClientInASession(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: ["plugins": ["earlytalker wait 0.2"]]) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.command("NOOP").expect(250)
        }
    }

    /// check-at DATA: a client that sends its message behind DATA without waiting for 354 is
    /// refused; pipelined MAIL and RCPT before it are fine (RFC 2920).
    @Test(arguments: SMTPTestSetup.allCases)
    func dataCheckInASession(setup: SMTPTestSetup) async throws {
        let config = ["plugins": ["earlytalker check-at DATA wait 5", "rcpt_ok"], "rcpthosts": ["test.example"]]
        try await SMTPTestClient.with(setup, config: config) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.send("MAIL FROM:<a@x.example>", "RCPT TO:<u@test.example>", "DATA", "Subject: x", "", "hi", ".")
            try await client.expect(250)
            try await client.expect(250)
            let refused = try await client.expect(554)
            #expect(refused.text == "5.7.1 \(Self.text)")
        }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func patientClientPassesTheDataCheck(setup: SMTPTestSetup) async throws {
        let config = ["plugins": ["earlytalker check-at DATA wait 0.2", "rcpt_ok", "queue/discard"], "rcpthosts": ["test.example"]]
        try await SMTPTestClient.with(setup, config: config) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.send("MAIL FROM:<a@x.example>", "RCPT TO:<u@test.example>")
            try await client.expect(250)
            try await client.expect(250)
            try await client.data("Subject: x\n\nhi\n").expect(250)
        }
    }
}

@Suite struct OutOfTurnInputTests {
    @Test func waitEndsAtTheLimitWithoutInput() async {
        let input = OutOfTurnInput()
        let start = ContinuousClock.now
        #expect(await input.wait(upTo: .milliseconds(200)) == false)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
    }

    @Test func arrivalWakesTheWaiter() async {
        let input = OutOfTurnInput()
        Task {
            try await Task.sleep(for: .milliseconds(100))
            input.noteArrival()
        }
        let start = ContinuousClock.now
        #expect(await input.wait(upTo: .seconds(30)) == true)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func passingTheTurnForgets() async {
        let input = OutOfTurnInput()
        input.noteArrival()
        #expect(input.arrived)
        #expect(await input.wait(upTo: .zero) == true)
        input.turnPassedToClient()
        #expect(!input.arrived)
        #expect(await input.wait(upTo: .zero) == false)
    }

    @Test func cancellationEndsTheWait() async {
        let input = OutOfTurnInput()
        let waiter = Task { await input.wait(upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        waiter.cancel()
        #expect(await waiter.value == false)
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
