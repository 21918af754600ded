import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// rspamd's `/checkv2` over scripted connections (the answer is the peer's first bytes: rspamd
/// says nothing until it has read the message), and the reply parsing, action mapping and
/// header rules alone. tests/live/test_rspamd.py runs the plugin against a real rspamd.
@Suite struct RspamdTests {
    static let message = "Subject: hello\r\nX-Spam-Status: Yes, forged\r\nX-Spam: Yes\r\n\r\nline one\r\n"

    static func answer(_ json: String, status: String = "200 OK") -> String {
        "HTTP/1.1 \(status)\r\nConnection: close\r\nServer: rspamd/3.4\r\nContent-Length: \(json.utf8.count)\r\n"
            + "Content-Type: application/json\r\n\r\n" + json
    }

    static func verdict(_ action: String, score: Double = 1.5, extra: String = "") -> String {
        answer("""
            {"is_skipped":false,"score":\(score),"required_score":15.0,"action":"\(action)",\
            "symbols":{"MISSING_MID":{"name":"MISSING_MID","score":2.5,"metric_score":2.5},\
            "MIME_GOOD":{"name":"MIME_GOOD","score":-0.1}},"messages":{}\(extra)}
            """)
    }

    struct Run {
        var result: HookResult
        var harness: PluginHarness
        var rspamd: ScriptedOutboundConnector
    }

    static func run(
        _ words: String, answer: String, recipients: [String] = ["u@example.net"], message: String = message,
        state: ReputationServices = ReputationServices(), memoryThreshold: Int = 1 << 20
    ) async throws -> Run {
        let rspamd = ScriptedOutboundConnector(greeting: answer) { _ in "" }
        let services = PluginServices(hostName: "mx.test.example", connector: rspamd, store: state.store, clock: state.clock)
        let harness = try PluginHarness("rspamd " + words, services: services)
        try await harness.mail(from: "s@example.org")
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(message, memoryThreshold: memoryThreshold)
        return Run(result: try await harness.dataPost(), harness: harness, rspamd: rspamd)
    }

    // MARK: the request

    @Test(arguments: [1 << 20, 0]) func requestCarriesTheEnvelopeAndTheExactLength(memoryThreshold: Int) async throws {
        let run = try await Self.run(
            "rspamd.example:11399", answer: Self.verdict("no action"), recipients: ["a@example.net", "b@example.net"],
            memoryThreshold: memoryThreshold)
        #expect(run.result == .declined)
        let connection = try #require(run.rspamd.connections.first)
        #expect(connection.endpoint == .tcp(host: "rspamd.example", port: 11399))
        #expect(connection.isClosed)
        let parts = connection.written.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)
        #expect(String(parts[0]) == """
            POST /checkv2 HTTP/1.1\r
            Host: rspamd\r
            Connection: close\r
            From: s@example.org\r
            Rcpt: a@example.net\r
            Rcpt: b@example.net\r
            IP: 192.0.2.10\r
            Queue-Id: \(run.harness.transaction.id)\r
            Content-Length: \(parts[1].utf8.count)
            """)
        #expect(String(parts[1]) == Self.message)
    }

    @Test func requestHeadWithTheSessionAndNoLineEndsFromTheClient() {
        let request = RspamdRequest(
            sender: "", recipients: ["u@example.net"], clientIP: "2001:db8::1", helo: "evil\r\nX-Injected: 1",
            hostname: "mail.example.org", user: "alice", queueID: "Q1")
        #expect(request.head(contentLength: 42) == """
            POST /checkv2 HTTP/1.1\r
            Host: rspamd\r
            Connection: close\r
            From: \r
            Rcpt: u@example.net\r
            IP: 2001:db8::1\r
            Helo: evilX-Injected: 1\r
            Hostname: mail.example.org\r
            User: alice\r
            Queue-Id: Q1\r
            Content-Length: 42\r
            \r

            """)
    }

    @Test func endpointsAndOptions() throws {
        func settings(_ line: String) throws -> RspamdSettings {
            try RspamdSettings(PluginArguments(line.split(separator: " ").map(String.init)))
        }
        #expect(try settings("").endpoint == .tcp(host: "127.0.0.1", port: 11333))
        #expect(try settings("scanner.example").endpoint == .tcp(host: "scanner.example", port: 11333))
        #expect(try settings("/run/rspamd/normal.sock defer_on_error yes").endpoint == .unix(path: "/run/rspamd/normal.sock"))
        let full = try settings("[::1]:11400 max_size 1000 relayclient skip headers symbols spam_header X-Is-Spam milter_headers no greylist_delay 2 timeout 9")
        #expect(full.endpoint == .tcp(host: "::1", port: 11400))
        #expect(full.maxSize == 1000 && full.skipRelayClients && full.headers == .symbols)
        #expect(full.spamHeader == "X-Is-Spam" && !full.applyMilterHeaders && full.greylistDelay == 2)
        #expect(try settings("rspamd_socket 10.0.0.1:1 defer_on_error 1").deferOnError)
        #expect(throws: PluginArgumentError.self) { try settings("defer_on_error") }
        #expect(throws: PluginArgumentError.self) { try settings("headers all") }
        #expect(throws: PluginArgumentError.self) { try settings("host:port") }
        #expect(throws: PluginArgumentError.self) { try settings("spam_header X:Y") }
        #expect(throws: PluginArgumentError.self) { try settings("password secret") }
    }

    // MARK: the reply

    @Test func parsesTheVerdictAndMilterChanges() throws {
        let json = """
            {"is_skipped":false,"score":7.25,"required_score":15.0,"action":"rewrite subject","subject":"***SPAM*** hi",\
            "symbols":{"A":{"name":"A","score":5.0},"B":{"name":"B","score":2.25,"options":["x"]}},\
            "messages":{"smtp_message":"Go away"},"message-id":"<m@x>",\
            "milter":{"add_headers":{"X-One":"1","X-Two":{"value":"2","order":0},"X-Many":["a",{"value":"b","order":3}]},\
            "remove_headers":{"X-Spam":0,"X-Old":-1}}}
            """
        let reply = try RspamdReply.parse(Array(json.utf8))
        #expect(reply.result == RspamdResult(action: "rewrite subject", score: 7.25, requiredScore: 15, symbols: ["A": 5, "B": 2.25]))
        #expect(reply.result.isSpam)
        #expect(reply.subject == "***SPAM*** hi")
        #expect(reply.smtpMessage == "Go away")
        #expect(reply.addHeaders == [
            .init(name: "X-Many", value: "a", order: nil), .init(name: "X-Many", value: "b", order: 3),
            .init(name: "X-One", value: "1", order: nil), .init(name: "X-Two", value: "2", order: 0),
        ])
        #expect(reply.removeHeaders == [.init(name: "X-Old", occurrence: -1), .init(name: "X-Spam", occurrence: 0)])
    }

    @Test func whatIsNotAVerdictFails() {
        #expect(throws: RspamdReply.Failure.self) { try RspamdReply.parse(Array("<html>busy</html>".utf8)) }
        #expect(throws: RspamdReply.Failure.self) { try RspamdReply.parse(Array(#"{"error":"bad request"}"#.utf8)) }
        #expect(throws: RspamdReply.Failure.self) { try RspamdReply.parse(Array(#"{"action":"reject","score":"high"}"#.utf8)) }
    }

    // MARK: action mapping

    @Test func actionsMapToDecisions() throws {
        func decide(_ action: String, message: String? = nil, subject: String? = nil) -> RspamdDecision {
            RspamdDecision(RspamdReply(result: RspamdResult(action: action, score: 1, requiredScore: 15), subject: subject, smtpMessage: message))
        }
        #expect(decide("reject") == .reject("5.7.1 Spam message rejected"))
        #expect(decide("reject", message: "Gtube pattern") == .reject("5.7.1 Gtube pattern"))
        #expect(decide("reject", message: "two\r\nlines") == .reject("5.7.1 two lines"))
        #expect(decide("soft reject") == .softReject("4.7.1 Try again later"))
        #expect(decide("soft reject", message: "Ratelimited") == .softReject("4.7.1 Ratelimited"))
        #expect(decide("greylist") == .greylist)
        #expect(decide("add header") == .pass(markSpam: true, subject: nil))
        #expect(decide("rewrite subject", subject: "***SPAM*** hi") == .pass(markSpam: true, subject: "***SPAM*** hi"))
        #expect(decide("no action") == .pass(markSpam: false, subject: nil))
        #expect(decide("quarantine-custom") == .pass(markSpam: false, subject: nil))
    }

    @Test func rejectAndSoftRejectReplies() async throws {
        let gtube = Self.answer(#"{"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0}},"messages":{"smtp_message":"Gtube pattern"}}"#)
        let reject = try await Self.run("", answer: gtube)
        #expect(reject.result == .deny("5.7.1 Gtube pattern"))
        #expect(reject.harness.transaction[note: .rspamd]?.action == "reject")
        #expect(reject.harness.connection[note: .karma] == -1)
        #expect(try await Self.run("reject_type temp", answer: gtube).result == .denySoft("5.7.1 Gtube pattern"))
        #expect(try await Self.run("", answer: Self.verdict("soft reject")).result == .denySoft("4.7.1 Try again later"))
    }

    @Test func cleanMessageGetsTheStatusAndRspamdsHeaderChanges() async throws {
        let extra = #","milter":{"add_headers":{"X-Rspamd-Server":{"value":"scan1","order":0}},"remove_headers":{"X-Spam":0}}"#
        let run = try await Self.run("", answer: Self.verdict("no action", extra: extra))
        #expect(run.result == .declined)
        let header = run.harness.transaction.header
        #expect(header.fields.map(\.name) == ["X-Spam-Status", "X-Rspamd-Server", "Subject"])
        #expect(header.value(of: "X-Spam-Status") == "No, score=1.50 required=15.00 action=no action")
        #expect(run.harness.connection[note: .karma] == nil)
        let quiet = try await Self.run("headers none milter_headers no", answer: Self.verdict("no action", extra: extra))
        #expect(quiet.harness.transaction.header.fields.map(\.name) == ["Subject", "X-Spam-Status", "X-Spam"])
    }

    @Test func addHeaderAndRewriteSubjectMarkTheMessage() async throws {
        let add = try await Self.run("headers symbols", answer: Self.verdict("add header", score: 21))
        let header = add.harness.transaction.header
        #expect(add.result == .declined)
        #expect(header.fields.map(\.name) == ["X-Spam-Flag", "X-Spam-Status", "X-Spam-Symbols", "X-Spam", "Subject"])
        #expect(header.value(of: "X-Spam-Status") == "Yes, score=21.00 required=15.00 action=add header")
        #expect(header.all(named: "X-Spam-Symbols").first?.rawValue == " MIME_GOOD(-0.10),\r\n\tMISSING_MID(2.50)")
        #expect(header.value(of: "X-Spam") == "Yes")

        let rewrite = try await Self.run(
            "", answer: Self.verdict("rewrite subject", score: 31, extra: #","subject":"***SPAM*** hello""#))
        #expect(rewrite.harness.transaction.header.value(of: "Subject") == "***SPAM*** hello")
        #expect(rewrite.harness.transaction.header.fields.map(\.name) == ["X-Spam-Flag", "X-Spam-Status", "Subject", "X-Spam"])
    }

    @Test func milterHeaderPositionsAndOccurrences() {
        var header = MessageHeader(fields: [
            .init(name: "A", value: "1"), .init(name: "X", value: "first"), .init(name: "B", value: "2"),
            .init(name: "X", value: "second"), .init(name: "X", value: "third"),
        ])
        RspamdHeaders.remove(.init(name: "x", occurrence: -1), from: &header)
        RspamdHeaders.remove(.init(name: "X", occurrence: 1), from: &header)
        RspamdHeaders.remove(.init(name: "X", occurrence: 5), from: &header)
        #expect(header.fields.map(\.value) == ["1", "2", "second"])
        RspamdHeaders.insert(.init(name: "Top", value: "t", order: 0), into: &header)
        RspamdHeaders.insert(.init(name: "End", value: "e", order: nil), into: &header)
        RspamdHeaders.insert(.init(name: "Far", value: "f", order: 99), into: &header)
        RspamdHeaders.insert(.init(name: "Bad:Name", value: "x", order: nil), into: &header)
        #expect(header.fields.map(\.name) == ["Top", "A", "B", "X", "End", "Far"])
        #expect(RspamdHeaders.format(-0.005) == "-0.01" && RspamdHeaders.format(0.001) == "0.00" && RspamdHeaders.format(1000) == "1000.00")
    }

    @Test func greylistGoesThroughTheGreylistingStore() async throws {
        let state = ReputationServices()
        let greylist = Self.verdict("greylist", score: 11)
        let first = try await Self.run("greylist_delay 60", answer: greylist, state: state)
        #expect(first.result == .denySoft(Rspamd.greylistText))
        let key = "greylisting:192.0.2.10:s@example.org:u@example.net"
        #expect(try await state.store.get(key) != nil)
        state.clock.advance(by: .seconds(59))
        #expect(try await Self.run("greylist_delay 60", answer: greylist, state: state).result == .denySoft(Rspamd.greylistText))
        state.clock.advance(by: .seconds(1))
        let retry = try await Self.run("greylist_delay 60", answer: greylist, state: state)
        #expect(retry.result == .declined)
        #expect(retry.harness.transaction.header.value(of: "X-Spam-Status") == "No, score=11.00 required=15.00 action=greylist")
        // The greylisting plugin tracking the same triplet sees it as white.
        let greylisting = try PluginHarness("greylisting sender 1 recipient 1", services: state.services)
        try await greylisting.mail(from: "s@example.org")
        #expect(try await greylisting.rcpt(to: "u@example.net") == .declined)
        // A second recipient is a new triplet: the message is greylisted again.
        let more = try await Self.run("greylist_delay 60", answer: greylist, recipients: ["u@example.net", "v@example.net"], state: state)
        #expect(more.result == .denySoft(Rspamd.greylistText))
    }

    // MARK: failures

    @Test func failuresPassOrDefer() async throws {
        let broken = [
            Self.answer("{}", status: "500 Internal Server Error"),
            "SPAMD/1.1 0 EX_OK\r\n\r\n",
            Self.answer("not json"),
            "",
        ]
        for answer in broken {
            let open = try await Self.run("", answer: answer)
            #expect(open.result == .declined, "\(answer)")
            #expect(open.harness.transaction[note: .rspamd] == nil)
            #expect(open.harness.transaction.header.value(of: "X-Spam-Status") == "Yes, forged")
            #expect(try await Self.run("defer_on_error yes", answer: answer).result
                == .denySoft("4.7.1 Unable to scan for spam, try again later"))
        }
    }

    /// A well-formed verdict longer than `RspamdClient.maximumBody` is refused, not buffered.
    @Test func anAnswerOverTheSizeCapIsAFailure() async throws {
        let padding = String(repeating: "x", count: RspamdClient.maximumBody)
        let oversized = Self.verdict("no action", extra: ",\"padding\":\"\(padding)\"")
        #expect(try await Self.run("defer_on_error yes", answer: oversized).result
            == .denySoft("4.7.1 Unable to scan for spam, try again later"))
        // The same verdict without the padding is accepted.
        #expect(try await Self.run("defer_on_error yes", answer: Self.verdict("no action")).result == .declined)
    }

    @Test func skipsLargeMessages() async throws {
        let large = try await Self.run("max_size 10", answer: Self.verdict("reject"))
        #expect(large.result == .declined && large.rspamd.connections.isEmpty)
    }
}
