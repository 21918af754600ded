import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// `queue/smtp-forward HOST PORT proxy`: MAIL and each RCPT are asked downstream while our
/// client waits, DATA goes at queue, the conversation ends when the transaction does.
@Suite struct SMTPForwardProxyTests {
    static let line = "queue/smtp-forward downstream.example 2525 proxy"

    /// The proxy alone, or below `rcpt_ok` (which accepts test.example).
    static func harness(_ replies: DownstreamScript.Replies = .init(), belowRcptOK: Bool = false) throws -> (PluginHarness, DownstreamScript) {
        let script = DownstreamScript(replies)
        let services = PluginServices(hostName: "mx.test.example", connector: script.connector)
        let harness =
            belowRcptOK
            ? try PluginHarness("rcpt_ok", line, config: ["rcpthosts": ["test.example"]], services: services)
            : try PluginHarness(line, services: services)
        return (harness, script)
    }

    @Test func recipientsAreJudgedDownstreamBeforeWeAnswer() async throws {
        var replies = DownstreamScript.Replies()
        replies.rcpt["nobody@example.net"] = "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"
        let (harness, script) = try Self.harness(replies)
        #expect(try await harness.mail(from: "sender@example.org") == .declined)
        #expect(script.written == "EHLO mx.test.example\r\nMAIL FROM:<sender@example.org>\r\n")
        #expect(try await harness.rcpt(to: "a@example.net") == .ok())
        #expect(
            try await harness.rcpt(to: "nobody@example.net")
                == .done(SMTPReply(550, EnhancedStatusCode(5, 1, 1), "<nobody@example.net>: Recipient address rejected: User unknown")))
        try harness.setMessage(SMTPForwardTests.message)
        #expect(try await harness.queue() == .ok("queued as 4ABC123"))
        try await harness.run(.resetTransaction)
        #expect(
            script.written
                == "EHLO mx.test.example\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<nobody@example.net>\r\n"
                + "DATA\r\n" + SMTPForwardTests.stuffed + "QUIT\r\n")
        #expect(script.connections.count == 1)
        #expect(script.connections[0].isClosed)
    }

    @Test func theClientsSizeAndBodyGoDownstreamAtMail() async throws {
        let (harness, script) = try Self.harness()
        try await harness.mail(from: "sender@example.org", parameters: [.init(keyword: "SIZE", value: "1234"), .init(keyword: "BODY", value: "8BITMIME")])
        #expect(script.written.hasSuffix("MAIL FROM:<sender@example.org> SIZE=1234 BODY=8BITMIME\r\n"))
    }

    @Test func aRefusedSenderIsRefusedAndTheConversationEnds() async throws {
        var replies = DownstreamScript.Replies()
        replies.mail = "553 5.7.1 <sender@example.org>: Sender address rejected: not logged in"
        let (harness, script) = try Self.harness(replies)
        #expect(
            try await harness.mail(from: "sender@example.org")
                == .done(SMTPReply(553, EnhancedStatusCode(5, 7, 1), "<sender@example.org>: Sender address rejected: not logged in")))
        #expect(script.written.hasSuffix("QUIT\r\n"))
        #expect(script.connections[0].isClosed)
    }

    @Test func aDownstreamThatIsGoneIsA451AtMail() async throws {
        let harness = try PluginHarness("queue/smtp-forward downstream.example 2525 proxy")
        #expect(
            try await harness.mail(from: "sender@example.org")
                == .done(
                    SMTPReply(
                        451, EnhancedStatusCode(4, 3, 0),
                        "Unable to queue message (cannot connect to downstream.example:2525: no outbound connector is configured for plugins)")))
    }

    @Test func aRecipientAcceptedAboveUsIsAskedDownstreamAtQueue() async throws {
        // rcpt_ok above the proxy answers OK for the recipient, so the proxy's rcpt hook never
        // saw it: the queue hook asks before DATA, and the downstream's refusal is logged.
        var replies = DownstreamScript.Replies()
        replies.rcptDefault = "550 5.1.1 unknown"
        let (harness, script) = try Self.harness(replies, belowRcptOK: true)
        try await harness.mail(from: "sender@example.org")
        #expect(try await harness.rcpt(to: "a@test.example") == .ok())
        try harness.setMessage(SMTPForwardTests.message)
        #expect(try await harness.queue() == .done(SMTPReply(550, EnhancedStatusCode(5, 1, 1), "unknown")))
        #expect(script.written.hasSuffix("MAIL FROM:<sender@example.org>\r\nRCPT TO:<a@test.example>\r\nRSET\r\nQUIT\r\n"))
    }

    @Test func aConnectionLostAtRcptIsA451() async throws {
        var replies = DownstreamScript.Replies()
        replies.rcptDefault = ""
        let (harness, script) = try Self.harness(replies)
        try await harness.mail(from: "sender@example.org")
        #expect(
            try await harness.rcpt(to: "a@example.net")
                == .done(SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Unable to queue message (connection lost)")))
        #expect(script.connections[0].isClosed)
    }
}
