import SMTPPluginAPI
import SMTPTesting
import Testing

/// The three `SMTPTestSetup`s are interchangeable: one script, the same replies, the same mail.
@Suite("Test setups", .timeLimit(.minutes(1))) struct TestSetupTests {
    private func config(_ queue: CapturedMail) -> [String: [String]] {
        ["me": ["mx.test.example"], "rcpthosts": ["test.example"], "plugins": ["rcpt_ok", queue.pluginLine]]
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func conversation(setup: SMTPTestSetup) async throws {
        let queue = CapturedMail()
        try await SMTPTestClient.with(setup, config: config(queue)) { client in
            let greeting = try await client.greeting()
            #expect(greeting.text.hasPrefix("mx.test.example ESMTP"))
            let ehlo = try await client.ehlo("client.example")
            #expect(ehlo.lines.contains("PIPELINING"))
            try await client.mail(from: "s@x.example").expect(250)
            try await client.rcpt(to: "u@elsewhere.example").expect(550, "5.7.1")
            try await client.rcpt(to: "a@test.example").expect(250)
            let queued = try await client.data("Subject: hi\n\nline one\n.starts with a dot\n..two dots\n")
            #expect(try queued.expect(250).text.hasSuffix("Queued"))
            try await client.quit().expect(221)
            #expect(try await client.isClosed())
        }
        let messages = queue.messages
        try #require(messages.count == 1)
        #expect(messages[0].sender == "s@x.example")
        #expect(messages[0].recipients == ["a@test.example"])
        #expect(messages[0].header.value(of: "Subject") == "hi")
        #expect(messages[0].header.value(of: "Received") != nil)
        #expect(messages[0].bodyText == "line one\r\n.starts with a dot\r\n..two dots\r\n")
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func pipelinedEnvelope(setup: SMTPTestSetup) async throws {
        let queue = CapturedMail()
        try await SMTPTestClient.with(setup, config: config(queue)) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.send("MAIL FROM:<s@x.example>", "RCPT TO:<a@test.example>", "RCPT TO:<b@elsewhere.example>", "DATA")
            try await client.expect(250)
            try await client.expect(250)
            try await client.expect(550, "5.7.1")
            try await client.expect(354)
            try await client.send(message: "Subject: one\n\nfirst\n")
            try await client.expect(250)
            // Everything in one write, message included: the framer must wait for the 354.
            try await client.send(raw: "MAIL FROM:<>\r\nRCPT TO:<b@test.example>\r\nDATA\r\nSubject: two\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            try await client.expect(250)
            try await client.expect(250)
            try await client.expect(354)
            try await client.expect(250)
            try await client.expect(221)
        }
        #expect(queue.messages.map(\.recipients) == [["a@test.example"], ["b@test.example"]])
        #expect(queue.messages.map(\.sender) == ["s@x.example", ""])
        #expect(queue.messages.last?.bodyText == "body\r\n")
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func refusedDataIsFollowedByCommands(setup: SMTPTestSetup) async throws {
        let queue = CapturedMail()
        try await SMTPTestClient.with(setup, config: config(queue)) { client in
            try await client.greeting()
            try await client.helo("c")
            // DATA without a recipient is refused; the line behind it is a command again.
            try await client.send("MAIL FROM:<s@x.example>", "DATA", "NOOP")
            try await client.expect(250)
            try await client.expect(503)
            try await client.expect(250)
            let error = await #expect(throws: ClientError.self) { try await client.rcpt(to: "u@elsewhere.example").expect(250) }
            #expect("\(error!)".contains("(after RCPT TO:<u@elsewhere.example>)"))
        }
        #expect(queue.messages.isEmpty)
    }
}
