import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// The spamd conversation over scripted connections (the reply is the peer's first bytes, since
/// spamd says nothing until it has read the message), and the parsing and header rules alone.
/// tests/live/test_spamassassin.py runs the plugin against a real spamd.
@Suite struct SpamAssassinTests {
    /// spamd's header block for a clean message (its report folded, as spamd writes it).
    static let hamBlock = """
        X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on mx\r
        X-Spam-Level: **\r
        X-Spam-Status: No, score=2.5 required=5.0 tests=MISSING_DATE,\r
        \tNO_RELAYS autolearn=no autolearn_force=no version=4.0.1\r
        Subject: hello\r
        X-Spam-Report: \r
        \t* 2.5 MISSING_DATE\r
        \r

        """

    static let hamReply = "SPAMD/1.1 0 EX_OK\r\nContent-length: \(hamBlock.utf8.count)\r\nSpam: False ; 2.5 / 5.0\r\n\r\n" + hamBlock

    static func spamReply(score: String) -> String {
        """
        SPAMD/1.1 0 EX_OK\r
        Spam: True ; \(score) / 5.0\r
        \r
        X-Spam-Flag: YES\r
        X-Spam-Level: *****\r
        X-Spam-Status: Yes, score=\(score) required=5.0 tests=GTUBE autolearn=no version=4.0.1\r
        \r

        """
    }

    static let message = "Subject: hello\r\nX-Spam-Status: Yes, upstream\r\nX-Spam-Flag: YES\r\n\r\nline one\r\n"

    /// One transaction through `spamassassin WORDS` against a scripted spamd answering `reply`.
    static func run(
        _ words: String, reply: String, recipients: [String] = ["u@example.net"], message: String = message,
        memoryThreshold: Int = 1 << 20, config: [String: [String]] = [:]
    ) async throws -> (HookResult, PluginHarness, ScriptedOutboundConnector) {
        let spamd = ScriptedOutboundConnector(greeting: reply) { _ in "" }
        let harness = try PluginHarness(
            "spamassassin " + words, config: config, services: PluginServices(hostName: "mx.test.example", connector: spamd))
        try await harness.mail(from: "s@example.org")
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(message, memoryThreshold: memoryThreshold)
        return (try await harness.dataPost(), harness, spamd)
    }

    @Test(arguments: [1 << 20, 0]) func requestAnnouncesTheExactLength(memoryThreshold: Int) async throws {
        let (result, _, spamd) = try await Self.run(
            "spamd_socket spamd.example:7830 spamd_user filter", reply: Self.hamReply, memoryThreshold: memoryThreshold)
        #expect(result == .declined)
        let connection = try #require(spamd.connections.first)
        #expect(connection.endpoint == .tcp(host: "spamd.example", port: 7830))
        #expect(connection.isClosed)
        let written = connection.written
        let parts = written.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)
        let requestHeader = String(parts[0])
        let content = String(parts[1])
        #expect(requestHeader == "HEADERS SPAMC/1.5\r\nContent-length: \(content.utf8.count)\r\nUser: filter")
        #expect(content == "X-Envelope-From: <s@example.org>\r\n" + Self.message)
    }

    @Test func hamGetsSpamdsFieldsOnTopAndTheOldOnesRenamed() async throws {
        let (result, harness, _) = try await Self.run("reject 10 spamd_socket /run/spamd.sock", reply: Self.hamReply)
        #expect(result == .declined)
        let header = harness.transaction.header
        #expect(header.fields.map(\.name) == [
            "X-Spam-Checker-Version", "X-Spam-Level", "X-Spam-Status", "Subject", "X-Old-Spam-Status", "X-Old-Spam-Flag",
        ])
        #expect(header.fields[2].rawValue == " No, score=2.5 required=5.0 tests=MISSING_DATE,\r\n\tNO_RELAYS autolearn=no autolearn_force=no version=4.0.1")
        #expect(header.value(of: "X-Old-Spam-Status") == "Yes, upstream")
        let note = try #require(harness.transaction[note: .spamAssassin])
        #expect(note == SpamAssassinResult(isSpam: false, score: 2.5, required: 5.0, details: [
            "tests": "MISSING_DATE,NO_RELAYS", "autolearn": "no", "autolearn_force": "no", "version": "4.0.1",
        ]))
        #expect(harness.connection[note: .karma] == nil)
    }

    @Test func spamAtTheRejectScoreIsRefused() async throws {
        let (result, harness, _) = try await Self.run("reject 10 leave_old_headers drop", reply: Self.spamReply(score: "1000.0"))
        #expect(result == .deny("spam score exceeded threshold"))
        #expect(harness.transaction.header.all(named: "X-Spam-Flag").map(\.value) == ["YES"])
        #expect(harness.transaction.header.all(named: "X-Old-Spam-Status").isEmpty)
        #expect(harness.connection[note: .karma] == -1)
        let (below, _, _) = try await Self.run("reject 10", reply: Self.spamReply(score: "9.9"))
        #expect(below == .declined)
        let (temp, _, _) = try await Self.run("reject 10 reject_type temp", reply: Self.spamReply(score: "10.0"))
        #expect(temp == .denySoft("spam score exceeded threshold"))
    }

    @Test func userprefsUsesSpamdsRequiredScore() async throws {
        let (spam, _, _) = try await Self.run("reject userprefs", reply: Self.spamReply(score: "5.0"))
        #expect(spam == .deny("spam score exceeded threshold"))
        let (ham, _, _) = try await Self.run("reject userprefs", reply: Self.hamReply)
        #expect(ham == .declined)
    }

    @Test func headersNoneAsksForSymbolsAndKeepsOnlyTheNote() async throws {
        let reply = "SPAMD/1.1 0 EX_OK\r\nContent-length: 19\r\nSpam: True ; 7.0 / 5.0\r\n\r\nGTUBE,MISSING_DATE\n"
        let (_, harness, spamd) = try await Self.run("headers none leave_old_headers keep", reply: reply)
        let written = try #require(spamd.connections.first).written
        #expect(written.hasPrefix("SYMBOLS SPAMC/1.5\r\nContent-length: "))
        #expect(harness.transaction.header.fields.map(\.name) == ["Subject", "X-Spam-Status", "X-Spam-Flag"])
        #expect(harness.transaction[note: .spamAssassin] == SpamAssassinResult(
            isSpam: true, score: 7.0, required: 5.0, details: ["tests": "GTUBE,MISSING_DATE"]))
    }

    @Test func subjectMungingAndSeveralRecipients() async throws {
        let (_, harness, _) = try await Self.run(
            "munge_subject_threshold 5 spamd_user filter", reply: Self.spamReply(score: "6.0"),
            recipients: ["a@example.net", "b@example.net"], config: ["subject_prefix": ["[SPAM]"]])
        let header = harness.transaction.header
        #expect(header.value(of: "Subject") == "[SPAM] hello")
        #expect(header.value(of: "X-Spam-User") == "filter, 2 recipients")
        let (_, quiet, _) = try await Self.run("munge_subject_threshold 8", reply: Self.spamReply(score: "6.0"))
        #expect(quiet.transaction.header.value(of: "Subject") == "hello")
    }

    @Test func perUserPrefsWithVpopmail() async throws {
        let (_, _, spamd) = try await Self.run("spamd_user vpopmail", reply: Self.hamReply)
        #expect(try #require(spamd.connections.first).written.contains("\r\nUser: u@example.net\r\n"))
    }

    @Test func failuresPassOrDefer() async throws {
        let (open, harness, _) = try await Self.run("reject 5", reply: "SPAMD/1.1 76 Bad header line\r\n")
        #expect(open == .declined)
        #expect(harness.transaction.header.value(of: "X-Spam-Status") == "Yes, upstream")
        let (closed, _, _) = try await Self.run("reject 5 defer_on_error yes", reply: "")
        #expect(closed == .denySoft("4.7.1 Unable to scan for spam, try again later"))
        let (garbage, _, _) = try await Self.run("reject 5 defer_on_error yes", reply: "HTTP/1.0 200 OK\r\n\r\n")
        #expect(garbage == .denySoft("4.7.1 Unable to scan for spam, try again later"))
    }

    /// A header block longer than `SpamdClient.maximumReply` is refused, not buffered.
    @Test func aReplyOverTheSizeCapIsAFailure() async throws {
        let block = Self.hamBlock + "X-Padding: " + String(repeating: "x", count: SpamdClient.maximumReply) + "\r\n\r\n"
        let oversized = "SPAMD/1.1 0 EX_OK\r\nContent-length: \(block.utf8.count)\r\nSpam: False ; 2.5 / 5.0\r\n\r\n" + block
        let (result, _, _) = try await Self.run("reject 5 defer_on_error yes", reply: oversized)
        #expect(result == .denySoft("4.7.1 Unable to scan for spam, try again later"))
        let (ham, _, _) = try await Self.run("reject 5 defer_on_error yes", reply: Self.hamReply)
        #expect(ham == .declined)
    }

    @Test func skipsLargeMessagesAndRelayClients() async throws {
        let (large, _, spamd) = try await Self.run("size_limit 10", reply: Self.hamReply)
        #expect(large == .declined)
        #expect(spamd.connections.isEmpty)

        let relayed = ScriptedOutboundConnector(greeting: Self.hamReply) { _ in "" }
        let harness = try PluginHarness(
            "spamassassin relayclient skip", services: PluginServices(hostName: "mx.test.example", connector: relayed))
        harness.connection.isRelayClient = true
        try await harness.mail(from: "s@example.org")
        try await harness.rcpt(to: "u@example.net")
        try harness.setMessage(Self.message)
        #expect(try await harness.dataPost() == .declined)
        #expect(relayed.connections.isEmpty)
    }

    @Test func arguments() throws {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("spamassassin reject") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("spamassassin reject lots") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("spamassassin leave_old_headers hide") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("spamassassin spamd_socket host:port") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("spamassassin colour blue") }
        let defaults = try SpamAssassinSettings(PluginArguments([]), config: InMemoryConfigStore([:]))
        #expect(defaults.endpoint == .tcp(host: "localhost", port: 783))
        #expect(defaults.reject == .never && defaults.oldHeaders == .rename && defaults.sizeLimit == 500_000)
        #expect(defaults.subjectPrefix == "*** SPAM ***" && !defaults.deferOnError && defaults.addHeaders)
        #expect(defaults.spamdUser == nil && !SpamAssassinSettings.processUser().isEmpty)
        let set = try SpamAssassinSettings(
            PluginArguments(["spamd_socket", "/var/run/spamd.sock", "reject_threshold", "12", "relayclient", "skip"]),
            config: InMemoryConfigStore([:]))
        #expect(set.endpoint == .unix(path: "/var/run/spamd.sock") && set.reject == .atScore(12) && set.skipRelayClients)
        #expect(try ScannerEndpoint.parse("spamd", defaultPort: 783, argument: "x") == .tcp(host: "spamd", port: 783))
        #expect(try ScannerEndpoint.parse("[::1]:783", argument: "x") == .tcp(host: "::1", port: 783))
    }

    @Test func statusParsing() {
        #expect(SpamAssassinResult.parse(status: "Yes, hits=7.1 required=5.0 tests=A,B") == SpamAssassinResult(
            isSpam: true, score: 7.1, required: 5.0, details: ["tests": "A,B"]))
        #expect(SpamAssassinResult.parse(status: "maybe, score=1") == nil)
        #expect(SpamAssassinResult.parse(status: "No, tests=none") == nil)
        #expect(SpamdReply.parseVerdict("True ; 15.0 / 5.0") == .init(isSpam: true, score: 15, required: 5))
        #expect(SpamdReply.parseVerdict("Maybe ; 1 / 2") == nil)
        #expect(SpamdReply.spamFields(in: "From: a\nX-Spam-A: 1\n b\nX-Other: 2\n c\nx-spam-b:3\n\nX-Spam-C: body").map(\.name) == ["X-Spam-A", "x-spam-b"])
    }

    /// The announced length is what OutgoingMessage sends, also when a replacement header meets a
    /// body that starts with text (the client's header block ended at a line that was no field).
    @Test func outgoingLengthMatchesWhatIsSent() async throws {
        for text in ["Subject: a\r\n\r\nbody\r\n", "Subject: a\r\nnot a field\r\nmore\r\n", "Subject: a\r\n\r\n", "Subject: a\r\n"] {
            let (header, spool) = try Fixture.message(text)
            var changed = header
            changed.prepend("X-Added", "yes")
            let reader = BlockingSpoolReader(blocking: InlineBlockingWorkRunner())
            var sent = 0
            for try await chunk in OutgoingMessage(spool, header: changed, reader: reader) { sent += chunk.count }
            #expect(try await OutgoingMessageLength.of(spool, header: changed, reader: reader) == sent, "\(text)")
            #expect(try await OutgoingMessageLength.of(spool, header: nil, reader: reader) == spool.size)
        }
    }
}
