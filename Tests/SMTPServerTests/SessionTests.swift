import SMTPDaemon
import SMTPTesting
import Testing

/// A config that accepts mail for test.example and delivers it to a fresh Maildir.
func deliveringConfig(_ extra: [String: [String]] = [:], plugins: [String] = []) -> ([String: [String]], String) {
    let maildir = TemporaryDirectory.make(prefix: "maildir")
    var files: [String: [String]] = [
        "me": ["mx.test.example"],
        "rcpthosts": ["test.example"],
        "plugins": plugins + ["rcpt_ok", "queue/maildir \(maildir)"],
    ]
    files.merge(extra) { $1 }
    return (files, maildir)
}

func withServer(_ files: [String: [String]], maxConnections: Int = 0, maxPerIP: Int = 0, _ body: (TestServer) async throws -> Void) async throws {
    let server = try await TestServer.start(config: files, plugins: .scripted, maxConnections: maxConnections, maxPerIP: maxPerIP)
    defer { server.stop() }
    try await body(server)
}

@Suite("Session") struct SessionTests {
    @Test func greetingAndCapabilities() async throws {
        try await withServer(["me": ["mx.test.example"], "databytes": ["1000"]]) { server in
            let client = try await server.connect()
            let greeting = try await client.expect(220)
            #expect(greeting.text.hasPrefix("mx.test.example ESMTP qpsmtpd"))
            let ehlo = try await client.command("EHLO client.example")
            #expect(ehlo.code == 250)
            #expect(Array(ehlo.lines.dropFirst()) == ["PIPELINING", "8BITMIME", "SIZE 1000", "ENHANCEDSTATUSCODES"])
            #expect(try await client.command("QUIT").code == 221)
            #expect(try await client.isClosed())
        }
    }

    @Test func closedWithoutRcptPlugin() async throws {
        try await withServer(["me": ["mx.test.example"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("HELO c")
            try await client.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@test.example>\r\n")
            try await client.expect(250)
            let rcpt = try await client.expect(450)
            #expect(rcpt.text == "4.7.1 No plugin decided if relaying is allowed")
        }
    }

    @Test func deliversWithReceivedOnTopAndBodyIntact() async throws {
        let (files, maildir) = deliveringConfig()
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO client.example")
            // One write for the whole envelope: replies must come back in order (RFC 2920).
            try await client.send("MAIL FROM:<s@x.example>\r\nRCPT TO:<a@test.example>\r\nRCPT TO:<b@elsewhere.example>\r\nDATA\r\n")
            try await client.expect(250)
            try await client.expect(250)
            let refused = try await client.expect(550)
            #expect(refused.text.hasPrefix("5.7.1"))
            try await client.expect(354)
            try await client.send("Subject: hi\r\n\r\nline one\r\n..starts with a dot\r\n.\r\n")
            let queued = try await client.expect(250)
            #expect(queued.text.hasPrefix("2.0.0 Queued!"))
        }
        let delivered = TemporaryDirectory.files(in: maildir + "/new")
        #expect(delivered.count == 1)
        let message = TemporaryDirectory.read(maildir + "/new/" + delivered[0]) ?? ""
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "Return-Path: <s@x.example>")
        #expect(lines[2].hasPrefix("Received: from [127.0.0.1] (HELO client.example) (127.0.0.1)"))
        #expect(lines[3].hasPrefix(" by mx.test.example (qpsmtpd/"))
        #expect(lines[3].contains(" with ESMTP; "))
        #expect(message.hasSuffix("Subject: hi\n\nline one\n.starts with a dot\n"))
    }

    @Test func sizeLimitAtMailAndAfterData() async throws {
        let (files, maildir) = deliveringConfig(["databytes": ["100"]])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO c")
            let early = try await client.command("MAIL FROM:<s@x.example> SIZE=5000")
            #expect(early.code == 552 && early.text.hasPrefix("5.3.4"))
            try await client.command("MAIL FROM:<s@x.example> SIZE=50")
            try await client.command("RCPT TO:<a@test.example>")
            try await client.expect(354, after: "DATA")
            try await client.send(String(repeating: "x", count: 70) + "\r\n" + String(repeating: "y", count: 70) + "\r\n.\r\n")
            let late = try await client.expect(552)
            #expect(late.text.hasPrefix("5.3.4"))
            // The session goes on: a small message still gets through.
            try await client.command("MAIL FROM:<s@x.example>")
            try await client.command("RCPT TO:<a@test.example>")
            try await client.expect(354, after: "DATA")
            try await client.send("small\r\n.\r\n")
            try await client.expect(250)
        }
        #expect(TemporaryDirectory.files(in: maildir + "/new").count == 1)
    }

    @Test(arguments: ["\n.\n", "\n.\r\n", "\r.\r", "\r\n.\n"])
    func smugglingIsRefusedAndNotExecuted(fakeEnd: String) async throws {
        let (files, maildir) = deliveringConfig()
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.startMessage()
            let smuggled = "MAIL FROM:<evil@x.example>\r\nRCPT TO:<b@test.example>\r\nDATA\r\nsmuggled\r\n.\r\n"
            try await client.send("Subject: x\r\n\r\nbody" + fakeEnd + smuggled)
            // Everything up to the real <CRLF>.<CRLF> was one message, refused for its bare line end.
            let refused = try await client.expect(550)
            #expect(refused.text.hasPrefix("5.6.0"))
            #expect(try await client.command("NOOP").code == 250)
        }
        #expect(TemporaryDirectory.files(in: maildir + "/new").isEmpty)
    }

    @Test func limitsOnLinesAndRecipients() async throws {
        let (files, _) = deliveringConfig(["max_rcpt": ["2"]])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            let long = try await client.command("NOOP " + String(repeating: "a", count: 600))
            #expect(long.code == 500 && long.text.hasPrefix("5.5.2"))
            #expect(try await client.command("EHLO c").code == 250)
            let nul = try await client.command("NOOP a\u{0}b")
            #expect(nul.code == 500)
            try await client.command("MAIL FROM:<s@x.example>")
            try await client.command("RCPT TO:<a@test.example>")
            try await client.command("RCPT TO:<b@test.example>")
            let third = try await client.command("RCPT TO:<c@test.example>")
            #expect(third.code == 452 && third.text.hasPrefix("4.5.3"))
        }
    }

    @Test func sequenceErrors() async throws {
        let (files, _) = deliveringConfig()
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            #expect(try await client.command("MAIL FROM:<s@x.example>").code == 503)
            try await client.command("HELO c")
            #expect(try await client.command("RCPT TO:<a@test.example>").code == 503)
            #expect(try await client.command("DATA").code == 503)
            try await client.command("MAIL FROM:<s@x.example>")
            // Refused DATA: what follows is read as commands again.
            #expect(try await client.command("DATA").code == 503)
            #expect(try await client.command("NOOP").code == 250)
            #expect(try await client.command("MAIL FROM:<bad").code == 501)
            #expect(try await client.command("XYZZY").code == 500)
        }
    }

    @Test func idleTimeout() async throws {
        try await withServer(["me": ["mx.test.example"], "timeout": ["1"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            let timeout = try await client.expect(421)
            #expect(timeout.text.hasPrefix("4.4.2"))
            #expect(try await client.isClosed())
        }
    }

    @Test func perAddressConnectionLimit() async throws {
        try await withServer(["me": ["mx.test.example"]], maxPerIP: 2) { server in
            let first = try await server.connect()
            let second = try await server.connect()
            try await first.expect(220)
            try await second.expect(220)
            let third = try await server.connect()
            let refused = try await third.expect(421)
            #expect(refused.text.hasPrefix("4.7.0"))
            await first.close()
        }
    }

    @Test func manyPipelinedCommands() async throws {
        try await withServer(["me": ["mx.test.example"]]) { server in
            let client = try await server.connect()
            try await client.send("EHLO c\r\n" + String(repeating: "NOOP\r\n", count: 1000) + "QUIT\r\n")
            try await client.expect(220)
            try await client.expect(250)
            for _ in 0..<1000 { try await client.expect(250) }
            try await client.expect(221)
        }
    }
}

extension ScriptedSMTPClient {
    /// Greeting, EHLO, one sender, one local recipient, and DATA up to its 354.
    func startMessage() async throws {
        try await expect(220)
        try await command("EHLO c")
        try await command("MAIL FROM:<s@x.example>")
        try await command("RCPT TO:<a@test.example>")
        try await expect(354, after: "DATA")
    }

    /// Sends `command` and expects `code`.
    @discardableResult
    func expect(_ code: Int, after command: String) async throws -> ClientReply {
        try await send(command + "\r\n")
        return try await expect(code)
    }
}

@Suite("SASL exchange", .timeLimit(.minutes(1))) struct SASLExchangeTests {
    /// A base64 answer that reads "DATA" (or BDAT, STARTTLS) is a SASL answer, not a command: the
    /// session once froze here, its framer waiting for a decision nobody made.
    @Test(arguments: ["DATA", "BDAT", "STARTTLS", "AUTH"])
    func aSASLAnswerThatLooksLikeAVerbIsJustAnAnswer(_ answer: String) async throws {
        try await withServer(["me": ["mx.test.example"], "plugins": ["auth/authdeny"], "auth_failure_delay": ["0"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO c")
            #expect(try await client.command("AUTH LOGIN").code == 334)
            #expect(try await client.command(answer).code == 334)
            #expect(try await client.command("c2VjcmV0").code == 535)
            #expect(try await client.command("NOOP").code == 250)
        }
    }

    @Test func pipelinedCommandsAfterAnAUTHWithInitialResponseAreRead() async throws {
        try await withServer(["me": ["mx.test.example"], "plugins": ["auth/authdeny"], "auth_failure_delay": ["0"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO c")
            try await client.send("AUTH PLAIN AHVzZXIAcGFzcw==\r\nNOOP\r\n")
            #expect(try await client.reply().code == 535)
            #expect(try await client.reply().code == 250)
        }
    }
}
