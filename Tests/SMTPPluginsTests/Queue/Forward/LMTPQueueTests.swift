import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// queue/lmtp against a scripted LMTP server: LHLO, and one reply per accepted recipient after
/// the message (RFC 2033 §4.2) mapped to our one reply. Dovecot's real LMTP server is in
/// tests/live/test_lmtp.py.
@Suite struct LMTPQueueTests {
    static func lmtp(
        _ line: String = "queue/lmtp 127.0.0.1", replies: DownstreamScript.Replies,
        recipients: [String] = ["a@example.net", "b@example.net"]
    ) async throws -> (HookResult, DownstreamScript) {
        try await SMTPForwardTests.forward(line, replies: replies, recipients: recipients)
    }

    static func lmtpReplies(dataEnd: [String]) -> DownstreamScript.Replies {
        var replies = DownstreamScript.Replies()
        replies.greeting = "220 lmtp.example Dovecot ready."
        replies.ehlo = ["250-lmtp.example", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250 PIPELINING"]
        replies.dataEnd = dataEnd
        return replies
    }

    @Test func arguments() throws {
        func parsed(_ words: String) throws -> ForwardArguments {
            try LMTPQueue(context: Fixture.context("queue/lmtp", words.split(separator: " ").map(String.init))).arguments
        }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/lmtp") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/lmtp /run/dovecot/lmtp 24") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/lmtp host xclient") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/lmtp /run/dovecot/lmtp tls_verify system") }
        #expect(try parsed("mail.example").endpoint == .tcp(host: "mail.example", port: 24))
        #expect(try parsed("mail.example 2424").endpoint == .tcp(host: "mail.example", port: 2424))
        #expect(try parsed("/run/dovecot/lmtp").endpoint == .unix(path: "/run/dovecot/lmtp"))
        #expect(try PluginHarness("queue/lmtp /run/dovecot/lmtp").registeredHooks == [.queue])
    }

    @Test func everyRecipientDelivered() async throws {
        let (result, script) = try await Self.lmtp(replies: Self.lmtpReplies(dataEnd: ["250 2.0.0 <a@example.net> x Saved", "250 2.0.0 <b@example.net> y Saved"]))
        #expect(result == .ok("delivered to 2 of 2 recipients"))
        #expect(
            script.written
                == "LHLO mx.test.example\r\nMAIL FROM:<sender@example.org>\r\n"
                + "RCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" + SMTPForwardTests.stuffed)
    }

    @Test func overAUnixSocket() async throws {
        let (result, script) = try await Self.lmtp("queue/lmtp /run/dovecot/lmtp", replies: Self.lmtpReplies(dataEnd: ["250 2.0.0 Saved"]), recipients: ["a@example.net"])
        #expect(result == .ok("delivered to 1 of 1 recipients"))
        #expect(script.connections[0].endpoint == .unix(path: "/run/dovecot/lmtp"))
    }

    @Test func someDeliveredAfterDataIs250() async throws {
        let (result, _) = try await Self.lmtp(replies: Self.lmtpReplies(dataEnd: ["250 2.0.0 Saved", "552 5.2.2 <b@example.net> Quota exceeded"]))
        #expect(result == .ok("delivered to 1 of 2 recipients"))
    }

    @Test func noneDeliveredAfterDataGivesTheRefusalOrA451() async throws {
        let (refused, _) = try await Self.lmtp(replies: Self.lmtpReplies(dataEnd: ["552 5.2.2 <a@example.net> Quota exceeded", "552 5.2.2 <b@example.net> Quota exceeded"]))
        #expect(refused == .done(SMTPReply(552, EnhancedStatusCode(5, 2, 2), "<a@example.net> Quota exceeded")))
        let (deferred, _) = try await Self.lmtp(replies: Self.lmtpReplies(dataEnd: ["552 5.2.2 <a@example.net> Quota exceeded", "451 4.3.0 <b@example.net> Temporary internal error"]))
        #expect(
            deferred
                == .done(
                    SMTPReply(
                        451, EnhancedStatusCode(4, 3, 0),
                        "Unable to queue message (message deferred downstream: 451 4.3.0 <b@example.net> Temporary internal error)")))
    }

    @Test func unknownUsersRefusedAtRcptOnlyTheOthersCount() async throws {
        var replies = Self.lmtpReplies(dataEnd: ["250 2.0.0 <a@example.net> Saved"])
        replies.rcpt["b@example.net"] = "550 5.1.1 <b@example.net> User doesn't exist: b@example.net"
        let (result, script) = try await Self.lmtp(replies: replies)
        #expect(result == .ok("delivered to 1 of 1 recipients"))
        #expect(script.written.hasSuffix("DATA\r\n" + SMTPForwardTests.stuffed))

        replies.rcptDefault = "550 5.1.1 <a@example.net> User doesn't exist: a@example.net"
        let (none, _) = try await Self.lmtp(replies: replies)
        #expect(none == .done(SMTPReply(550, EnhancedStatusCode(5, 1, 1), "<a@example.net> User doesn't exist: a@example.net")))
    }

    @Test func aServerThatStopsAnsweringHalfwayIsA451() async throws {
        // One reply of the two: the connection ends before the second.
        let (result, _) = try await Self.lmtp(replies: Self.lmtpReplies(dataEnd: ["250 2.0.0 Saved"]))
        #expect(result == .done(SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Unable to queue message (connection lost)")))
    }
}
