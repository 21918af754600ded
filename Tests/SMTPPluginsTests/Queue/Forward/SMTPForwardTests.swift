import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// queue/smtp-forward against a scripted downstream: every argument and reply mapping, with the
/// exact bytes written and the exact reply our client would get. The real peers (Postfix, fakes
/// that stall or hang up) are in tests/live/test_forward.py.
@Suite struct SMTPForwardTests {
    static let message = "Subject: hello\r\nMessage-Id: <1@example.org>\r\n\r\nline one\r\n.leading dot\r\n"
    static let stuffed = "Subject: hello\r\nMessage-Id: <1@example.org>\r\n\r\nline one\r\n..leading dot\r\n.\r\n"

    /// One transaction through `line`, the downstream answering as `replies` say.
    static func forward(
        _ line: String = "queue/smtp-forward downstream.example", replies: DownstreamScript.Replies = .init(),
        recipients: [String] = ["a@example.net", "b@example.net"], message: String = message
    ) async throws -> (HookResult, DownstreamScript) {
        let script = DownstreamScript(replies)
        let harness = try PluginHarness(line, services: PluginServices(hostName: "mx.test.example", connector: script.connector))
        try await harness.mail(from: "sender@example.org")
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(message)
        return (try await harness.queue(), script)
    }

    static func reply(_ code: Int, _ enhanced: EnhancedStatusCode?, _ text: String) -> HookResult {
        .done(SMTPReply(code, enhanced, text))
    }

    static let unavailable = EnhancedStatusCode(4, 3, 0)

    // MARK: Arguments

    @Test func arguments() throws {
        func parsed(_ words: String) throws -> ForwardArguments {
            try SMTPForwardQueue(context: Fixture.context("queue/smtp-forward", words.split(separator: " ").map(String.init))).arguments
        }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/smtp-forward") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/smtp-forward host 70000") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/smtp-forward host 25 sideways") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/smtp-forward host tls_verify maybe") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/smtp-forward /run/socket") }
        #expect(try parsed("mx.example").endpoint == .tcp(host: "mx.example", port: 25))
        #expect(try parsed("mx.example 2525 xclient").endpoint == .tcp(host: "mx.example", port: 2525))
        #expect(try parsed("mx.example 2525 xclient").xclient)
        #expect(try !parsed("mx.example 2525").xclient)
        #expect(try parsed("mx.example 2525 proxy").proxy)
        #expect(try parsed("mx.example xclient timeout 30").xclient)
        #expect(try parsed("mx.example").tls == .opportunistic)
        #expect(try parsed("mx.example tls_verify none").tls == .opportunistic)
        #expect(try parsed("mx.example tls_verify system").tls == .verified(.systemRoots))
        #expect(try parsed("mx.example tls_verify /etc/ca.pem").tls == .verified(.caFile("/etc/ca.pem")))
        #expect(try PluginHarness("queue/smtp-forward mx.example").registeredHooks == [.queue])
        #expect(try PluginHarness("async/queue/smtp-forward mx.example").registeredHooks == [.queue])
        #expect(try PluginHarness("queue/smtp-forward mx.example 25 proxy").registeredHooks == [.mail, .rcpt, .queue, .resetTransaction])
    }

    // MARK: The conversation

    @Test func pipelinedDeliveryWithSizeAndTheQueueIdInTheReply() async throws {
        let (result, script) = try await Self.forward()
        #expect(result == .ok("queued as 4ABC123"))
        #expect(script.connections.count == 1)
        #expect(script.connections[0].endpoint == .tcp(host: "downstream.example", port: 25))
        #expect(
            script.written
                == "EHLO mx.test.example\r\nMAIL FROM:<sender@example.org> SIZE=\(Self.message.utf8.count)\r\n"
                + "RCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" + Self.stuffed)
        // Kept for the next message, not closed.
        #expect(!script.connections[0].isClosed)
    }

    @Test func withoutPipeliningOneCommandAtATimeAndNoRcptAfterARefusedMail() async throws {
        var replies = DownstreamScript.Replies()
        replies.ehlo = ["250-downstream.example", "250 SIZE"]
        replies.mail = "553 5.1.8 Sender address rejected: Domain not found"
        let (result, script) = try await Self.forward("queue/smtp-forward downstream.example 2525", replies: replies)
        #expect(result == Self.reply(553, EnhancedStatusCode(5, 1, 8), "Sender address rejected: Domain not found"))
        #expect(script.connections[0].endpoint == .tcp(host: "downstream.example", port: 2525))
        #expect(script.written == "EHLO mx.test.example\r\nMAIL FROM:<sender@example.org> SIZE=\(Self.message.utf8.count)\r\nRSET\r\n")
    }

    @Test func heloWhenEhloIsRefusedAndThenNoExtensions() async throws {
        var replies = DownstreamScript.Replies()
        replies.ehlo = ["502 5.5.2 EHLO not implemented"]
        let (result, script) = try await Self.forward(replies: replies, recipients: ["a@example.net"])
        #expect(result == .ok("queued as 4ABC123"))
        #expect(
            script.written
                == "EHLO mx.test.example\r\nHELO mx.test.example\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n" + Self.stuffed)
    }

    @Test func eightBitMIMEOnlyForEightBitMessagesAndOnlyWhenOffered() async throws {
        let eightBit = "Subject: caf\u{e9}\r\n\r\nna\u{ef}ve\r\n"
        let (_, offered) = try await Self.forward(recipients: ["a@example.net"], message: eightBit)
        #expect(offered.written.contains("MAIL FROM:<sender@example.org> SIZE=\(eightBit.utf8.count) BODY=8BITMIME\r\n"))
        let (_, sevenBit) = try await Self.forward(recipients: ["a@example.net"])
        #expect(!sevenBit.written.contains("BODY="))
        var replies = DownstreamScript.Replies()
        replies.ehlo = ["250-downstream.example", "250 PIPELINING"]
        let (_, notOffered) = try await Self.forward(replies: replies, recipients: ["a@example.net"], message: eightBit)
        #expect(notOffered.written.contains("MAIL FROM:<sender@example.org>\r\n"))
    }

    @Test func aMessageOverTheDownstreamSizeGetsItsRefusal() async throws {
        var replies = DownstreamScript.Replies()
        replies.mail = "552 5.3.4 Message size exceeds fixed limit"
        let (result, script) = try await Self.forward(replies: replies)
        #expect(result == Self.reply(552, EnhancedStatusCode(5, 3, 4), "Message size exceeds fixed limit"))
        #expect(!script.written.contains("DATA"))
    }

    // MARK: Recipients

    @Test func someRecipientsRefusedTheOthersGetTheMessage() async throws {
        var replies = DownstreamScript.Replies()
        replies.rcpt["b@example.net"] = "550 5.1.1 <b@example.net>: Recipient address rejected: User unknown"
        let (result, script) = try await Self.forward(replies: replies)
        #expect(result == .ok("queued as 4ABC123"))
        #expect(script.written.hasSuffix("RCPT TO:<b@example.net>\r\nDATA\r\n" + Self.stuffed))
    }

    @Test func everyRecipientRefusedGivesTheFirstRefusal() async throws {
        var replies = DownstreamScript.Replies()
        replies.rcptDefault = "554 5.7.1 <a@example.net>: Relay access denied"
        replies.rcpt["b@example.net"] = "550 5.1.1 unknown"
        let (result, script) = try await Self.forward(replies: replies)
        #expect(result == Self.reply(554, EnhancedStatusCode(5, 7, 1), "<a@example.net>: Relay access denied"))
        #expect(script.written.hasSuffix("RCPT TO:<b@example.net>\r\nRSET\r\n"))
    }

    @Test func aDeferredRecipientDefersTheWholeMessage() async throws {
        var replies = DownstreamScript.Replies()
        replies.rcpt["b@example.net"] = "450 4.2.0 <b@example.net>: Recipient address rejected: Greylisted"
        let (result, script) = try await Self.forward(replies: replies)
        #expect(
            result
                == Self.reply(
                    451, Self.unavailable,
                    "Unable to queue message (recipient deferred downstream: 450 4.2.0 <b@example.net>: Recipient address rejected: Greylisted)"))
        #expect(!script.written.contains("DATA"))
    }

    // MARK: The message

    @Test func dataPhaseReplies() async throws {
        var replies = DownstreamScript.Replies()
        replies.data = "554 5.5.1 Error: no valid recipients"
        #expect(try await Self.forward(replies: replies).0 == Self.reply(554, EnhancedStatusCode(5, 5, 1), "Error: no valid recipients"))

        replies = .init()
        replies.dataEnd = ["552 5.3.4 Message too big for system"]
        #expect(try await Self.forward(replies: replies).0 == Self.reply(552, EnhancedStatusCode(5, 3, 4), "Message too big for system"))

        replies.dataEnd = ["451 4.3.0 Error: queue file write error"]
        #expect(
            try await Self.forward(replies: replies).0
                == Self.reply(451, Self.unavailable, "Unable to queue message (message deferred downstream: 451 4.3.0 Error: queue file write error)"))

        replies.dataEnd = ["250-first line", "250 2.0.0 Ok: queued as Q9"]
        #expect(try await Self.forward(replies: replies).0 == .ok("queued as Q9"))
    }

    @Test func aConnectionThatDropsAfterTheMessageIsA451() async throws {
        var replies = DownstreamScript.Replies()
        replies.dataEnd = []
        let (result, script) = try await Self.forward(replies: replies)
        #expect(result == Self.reply(451, Self.unavailable, "Unable to queue message (connection lost)"))
        #expect(script.connections[0].isClosed)
    }

    @Test func garbageInsteadOfAReplyIsA451() async throws {
        var replies = DownstreamScript.Replies()
        replies.mail = "hello there"
        let (result, _) = try await Self.forward(replies: replies)
        #expect(result == Self.reply(451, Self.unavailable, "Unable to queue message (not an SMTP reply: hello there)"))
    }

    @Test func noConnectionIsA451() async throws {
        let harness = try PluginHarness("queue/smtp-forward downstream.example")
        try await harness.mail(from: "sender@example.org")
        try await harness.rcpt(to: "a@example.net")
        try harness.setMessage(Self.message)
        #expect(
            try await harness.queue()
                == Self.reply(
                    451, Self.unavailable,
                    "Unable to queue message (cannot connect to downstream.example:25: no outbound connector is configured for plugins)"))
    }

    @Test func aGreetingThatRefusesIsA451() async throws {
        var replies = DownstreamScript.Replies()
        replies.greeting = "554 5.3.2 not now"
        #expect(try await Self.forward(replies: replies).0 == Self.reply(451, Self.unavailable, "Unable to queue message (greeting: 554 5.3.2 not now)"))
    }

    // MARK: STARTTLS and XCLIENT

    @Test func startTLSWhenOfferedWithoutCheckingByDefault() async throws {
        var replies = DownstreamScript.Replies()
        replies.ehlo = ["250-downstream.example", "250-PIPELINING", "250 STARTTLS"]
        let (result, script) = try await Self.forward(replies: replies, recipients: ["a@example.net"])
        #expect(result == .ok("queued as 4ABC123"))
        #expect(script.connections[0].tls == OutboundTLS(serverName: nil, verification: .none))
        #expect(script.written.hasPrefix("EHLO mx.test.example\r\nSTARTTLS\r\nEHLO mx.test.example\r\nMAIL FROM:"))
    }

    @Test func tlsVerifyChecksAndRequiresSTARTTLS() async throws {
        var replies = DownstreamScript.Replies()
        replies.ehlo = ["250-downstream.example", "250 STARTTLS"]
        let (_, script) = try await Self.forward("queue/smtp-forward downstream.example tls_verify /etc/ca.pem", replies: replies, recipients: ["a@example.net"])
        #expect(script.connections[0].tls == OutboundTLS(serverName: nil, verification: .caFile("/etc/ca.pem")))

        let (result, plain) = try await Self.forward("queue/smtp-forward downstream.example tls_verify system")
        #expect(
            result
                == Self.reply(
                    451, Self.unavailable,
                    "Unable to queue message (downstream.example:25 does not offer STARTTLS, and tls_verify asks for a checked certificate)"))
        #expect(plain.written == "EHLO mx.test.example\r\n")
    }

    @Test func xclientAsAdvertisedThenEhloAgain() async throws {
        var replies = DownstreamScript.Replies()
        replies.ehlo = ["250-downstream.example", "250-PIPELINING", "250 XCLIENT NAME ADDR PROTO HELO LOGIN"]
        let (result, script) = try await Self.forward("queue/smtp-forward downstream.example 25 xclient", replies: replies, recipients: ["a@example.net"])
        #expect(result == .ok("queued as 4ABC123"))
        // The harness's client: 192.0.2.10, no name, no HELO yet. PORT was not offered.
        #expect(
            script.written.hasPrefix(
                "EHLO mx.test.example\r\nXCLIENT NAME=[UNAVAILABLE] ADDR=192.0.2.10 HELO=[UNAVAILABLE] PROTO=SMTP\r\nEHLO mx.test.example\r\nMAIL FROM:"))
        // Never pooled: the connection speaks for this client only.
        #expect(script.written.hasSuffix(".\r\nQUIT\r\n"))
    }

    @Test func xclientCommandsStayWithin500Characters() {
        let long = String(repeating: "h", count: 300)
        let facts = ClientFacts(name: long, address: "2001:db8::1", port: 4000, helo: long + "+=", isExtended: true)
        let attributes = facts.attributes(offered: ["NAME", "ADDR", "PORT", "HELO", "PROTO"])
        #expect(attributes[1] == "ADDR=IPV6:2001:db8::1")
        #expect(attributes[3] == "HELO=" + long + "+2B+3D")
        let commands = ClientFacts.commands(attributes)
        #expect(commands == ["XCLIENT NAME=\(long) ADDR=IPV6:2001:db8::1 PORT=4000", "XCLIENT HELO=\(long)+2B+3D PROTO=ESMTP"])
        #expect(commands.allSatisfy { $0.utf8.count <= 500 })
    }

    // MARK: Pool

    @Test func theNextMessageReusesTheConnectionAfterRSET() async throws {
        let script = DownstreamScript()
        let harness = try PluginHarness("queue/smtp-forward downstream.example", services: PluginServices(hostName: "mx.test.example", connector: script.connector))
        for _ in 0..<2 {
            try await harness.mail(from: "sender@example.org")
            try await harness.rcpt(to: "a@example.net")
            try harness.setMessage(Self.message)
            #expect(try await harness.queue() == .ok("queued as 4ABC123"))
        }
        #expect(script.connections.count == 1)
        let once = "MAIL FROM:<sender@example.org> SIZE=\(Self.message.utf8.count)\r\nRCPT TO:<a@example.net>\r\nDATA\r\n" + Self.stuffed
        #expect(script.written == "EHLO mx.test.example\r\n" + once + "RSET\r\n" + once)
    }

    @Test func thePoolKeepsAFewAndForgetsTheIdle() async throws {
        let script = DownstreamScript()
        let pool = DownstreamPool(capacity: 2, idleTimeout: .milliseconds(200))
        let options = DownstreamOptions(endpoint: .tcp(host: "d", port: 25), dialect: .smtp, helloName: "me")
        let deadlines = StepDeadlines(ForwardTimeouts(), hookDeadline: .now.advanced(by: .seconds(5)))
        for _ in 0..<3 {
            await pool.put(try await DownstreamConnection.open(options, connector: script.connector, client: nil, deadlines: deadlines, logger: .init(label: "t")))
        }
        #expect(pool.count == 2)
        #expect(script.connections.map(\.isClosed) == [true, false, false])
        // Closed when their idle time is up, without anyone asking the pool.
        try await Task.sleep(for: .milliseconds(600))
        #expect(pool.count == 0)
        #expect(script.connections.allSatisfy { $0.isClosed })
        #expect(script.connections[2].written.hasSuffix("QUIT\r\n"))
    }

    // MARK: Replies

    @Test func replyParsing() throws {
        let reply = try DownstreamReplyReader.parse(["250-2.0.0 first", "250 2.0.0 Ok: queued as ABC"])
        #expect(reply == DownstreamReply(code: 250, enhancedCode: EnhancedStatusCode(2, 0, 0), lines: ["first", "Ok: queued as ABC"]))
        #expect(reply.lastWord == "ABC")
        #expect(try DownstreamReplyReader.parse(["354 go ahead"]) == DownstreamReply(code: 354, lines: ["go ahead"]))
        // An enhanced code of the wrong class stays text.
        #expect(try DownstreamReplyReader.parse(["550 4.1.1 odd"]).enhancedCode == nil)
        #expect(throws: DownstreamReplyReader.ProtocolViolation.self) { try DownstreamReplyReader.parse(["250-a", "251 b"]) }
        #expect(throws: DownstreamReplyReader.ProtocolViolation.self) { try DownstreamReplyReader.parse(["hello"]) }
        #expect(
            DownstreamCapabilities(ehloLines: ["x", "PIPELINING", "SIZE 1000", "8BITMIME", "STARTTLS", "XCLIENT NAME addr"])
                == {
                    var c = DownstreamCapabilities()
                    c.isExtended = true
                    c.pipelining = true
                    c.sizeLimit = 1000
                    c.eightBitMIME = true
                    c.startTLS = true
                    c.xclientAttributes = ["NAME", "ADDR"]
                    return c
                }())
    }
}
