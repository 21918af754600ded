import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// The plugin and its conversation over scripted connections: cleanup's greeting and its answer
/// are both in the scripted peer's first bytes, since cleanup sends nothing in between.
@Suite struct PostfixQueueTests {
    static let greeting = PostfixAttributeList(["protocol": "cleanup_protocol", "queue_id": "4ABCD12EF"])

    static func peer(_ lists: PostfixAttributeList...) -> ScriptedOutboundConnector {
        let bytes = lists.flatMap { $0.encoded() }
        return ScriptedOutboundConnector(greeting: String(decoding: bytes, as: UTF8.self)) { _ in "" }
    }

    static func answer(_ status: Int, _ reason: String = "") -> PostfixAttributeList {
        PostfixAttributeList(["status": String(status), "reason": reason])
    }

    static func services(_ connector: any OutboundConnector) -> PluginServices {
        PluginServices(hostName: "mx.test.example", connector: connector, clock: ManualClock(start: WallTime(secondsSinceEpoch: 1_767_225_600.25)))
    }

    /// One transaction through `queue/postfix-queue WORDS`.
    static func queue(
        _ words: String = "", connector: any OutboundConnector, config: [String: [String]] = [:],
        sender: String = "sender@example.org", recipients: [String] = ["rcpt@example.net", "other@example.net"],
        message: String = "Subject: hello\r\nMessage-Id: <1@example.org>\r\n\r\nline one\r\n\r\n.. dot\r\n"
    ) async throws -> HookResult {
        let harness = try PluginHarness("queue/postfix-queue " + words, config: config, services: services(connector))
        try await harness.mail(from: sender)
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(message)
        return try await harness.queue()
    }

    /// The records the plugin sent after its flags list, as (type, text) pairs.
    static func sentRecords(_ connection: ScriptedOutboundConnection, flags: Int) throws -> [String] {
        try sentRecords(Array(connection.written.utf8), flags: flags)
    }

    static func sentRecords(_ written: [UInt8], flags: Int) throws -> [String] {
        let flagsList = PostfixAttributeList(["flags": String(flags)]).encoded()
        try #require(Array(written.prefix(flagsList.count)) == flagsList)
        let records = try #require(PostfixRecord.decode(Array(written.dropFirst(flagsList.count))))
        return records.map { String(UnicodeScalar($0.type)) + " " + String(decoding: $0.data, as: UTF8.self) }
    }

    @Test func queuedMessageGoesAsRecordsAndTheReplyNamesTheQueueID() async throws {
        let cleanup = Self.peer(Self.greeting, Self.answer(0))
        let result = try await Self.queue("/tmp/cleanup.sock FLAG_HOLD FLAG_MAP_OK", connector: cleanup)
        #expect(result == .ok("Queued! <1@example.org> (Queue-Id: 4ABCD12EF)"))
        let connection = try #require(cleanup.connections.first)
        #expect(connection.endpoint == .unix(path: "/tmp/cleanup.sock"))
        #expect(connection.isClosed)
        #expect(
            try Self.sentRecords(connection, flags: 4 | 32) == [
                "T 1767225600 250000", "S sender@example.org", "R rcpt@example.net", "R other@example.net", "M ",
                "N Subject: hello", "N Message-Id: <1@example.org>", "N ", "N line one", "N ", "N .. dot", "X ", "E ",
            ])
    }

    /// The null sender is an empty `S`; a quoted local part goes in Postfix's internal
    /// (unquoted) form, as smtpd writes it; a last line without its end still goes.
    @Test func nullSenderQuotedRecipientAndUnterminatedLastLine() async throws {
        let cleanup = Self.peer(Self.greeting, Self.answer(0))
        let result = try await Self.queue(
            connector: cleanup, sender: "<>", recipients: [#""a b"@example.net"#], message: "Subject: x\r\n\r\nno end")
        #expect(result == .ok("Queued! (Queue-Id: 4ABCD12EF)"))
        let connection = try #require(cleanup.connections.first)
        #expect(connection.endpoint == .unix(path: "/var/spool/postfix/public/cleanup"))
        #expect(try Self.sentRecords(connection, flags: 0) == ["T 1767225600 250000", "S ", "R a b@example.net", "M ", "N Subject: x", "N ", "N no end", "X ", "E "])
    }

    /// Every status bit gives exactly qpsmtpd's verdict (temporary bits first) with Postfix's
    /// reply codes, enhanced codes and texts when cleanup gives no reason.
    static func reply(_ code: Int, _ text: String) -> HookResult { .done(SMTPReply(code: code, defaultEnhanced: nil, text: text)) }

    @Test(arguments: [
        (1 << 8, Self.reply(451, "4.7.1 service unavailable")),
        (1 << 7, Self.reply(451, "4.3.0 queue file write error")),
        (1 << 0, Self.reply(451, "4.3.0 internal protocol error")),
        (1 << 1, Self.reply(451, "4.3.0 queue file write error")),
        (1 << 6, Self.reply(550, "5.1.0 no recipients specified")),
        (1 << 4, Self.reply(554, "5.4.0 too many hops")),
        (1 << 2, Self.reply(552, "5.3.4 message file too big")),
        (1 << 3, Self.reply(550, "5.7.1 message content rejected")),
        ((1 << 2) | (1 << 1), Self.reply(451, "4.3.0 queue file write error")),
        ((1 << 3) | (1 << 8), Self.reply(451, "4.7.1 service unavailable")),
        (1 << 9, .denySoft("4.3.0 Unable to queue message (status 512)")),
    ] as [(Int, HookResult)])
    func statusBits(status: Int, expected: HookResult) async throws {
        #expect(try await Self.queue(connector: Self.peer(Self.greeting, Self.answer(status))) == expected)
    }

    @Test func postfixReasonReplacesTheDefaultText() async throws {
        #expect(
            try await Self.queue(connector: Self.peer(Self.greeting, Self.answer(8, "5.7.1 Spam is not welcome")))
                == Self.reply(550, "5.7.1 Spam is not welcome"))
        // A reason without an enhanced code gets the bit's.
        #expect(try await Self.queue(connector: Self.peer(Self.greeting, Self.answer(256, "try later"))) == Self.reply(451, "4.7.1 try later"))
        // Control characters cannot add reply lines.
        #expect(try await Self.queue(connector: Self.peer(Self.greeting, Self.answer(4, "5.3.4 too\r\n250 big"))) == Self.reply(552, "5.3.4 too  250 big"))
    }

    /// Before Postfix 3.x's `protocol` attribute, the greeting was `queue_id` alone.
    @Test func olderGreetingWithoutProtocolName() async throws {
        let cleanup = Self.peer(PostfixAttributeList(["queue_id": "ABC"]), Self.answer(0))
        #expect(try await Self.queue(connector: cleanup) == .ok("Queued! <1@example.org> (Queue-Id: ABC)"))
    }

    static let unavailable = HookResult.denySoft("4.3.0 Unable to queue message: Postfix's cleanup service did not answer")

    @Test(arguments: [
        // Closed before the answer: the message may be half-written, cleanup discards it.
        [PostfixQueueTests.greeting],
        // Closed before the greeting.
        [],
        // Another service on the socket.
        [PostfixAttributeList(["protocol": "smtpd_protocol", "queue_id": "ABC"]), PostfixQueueTests.answer(0)],
        [PostfixAttributeList(["protocol": "cleanup_protocol"]), PostfixQueueTests.answer(0)],
        [PostfixAttributeList(["queue_id": "AB C"]), PostfixQueueTests.answer(0)],
        [PostfixQueueTests.greeting, PostfixAttributeList(["reason": "no status"])],
        [PostfixQueueTests.greeting, PostfixQueueTests.answer(0).replacing(status: "ok")],
    ])
    func brokenConversationsAreTemporaryFailures(lists: [PostfixAttributeList]) async throws {
        let bytes = lists.flatMap { $0.encoded() }
        let cleanup = ScriptedOutboundConnector(greeting: String(decoding: bytes, as: UTF8.self)) { _ in "" }
        #expect(try await Self.queue(connector: cleanup) == Self.unavailable)
        #expect(try #require(cleanup.connections.first).isClosed)
    }

    @Test func unreachableCleanupIsATemporaryFailure() async throws {
        #expect(
            try await Self.queue(connector: UnconfiguredOutboundConnector())
                == .denySoft("4.3.0 Unable to queue message: Postfix's cleanup service is unavailable"))
    }

    /// `cleanup_sockets` lists several; the first that accepts takes the message.
    @Test func firstReachableSocketTakesTheMessage() async throws {
        let cleanup = FailingFor(["/dead/one", "127.0.0.1:9"], then: Self.peer(Self.greeting, Self.answer(0)))
        let result = try await Self.queue(connector: cleanup, config: ["cleanup_sockets": ["/dead/one", "127.0.0.1:9", "[::1]:10026"]])
        #expect(result == .ok("Queued! <1@example.org> (Queue-Id: 4ABCD12EF)"))
        #expect(cleanup.attempts == ["/dead/one", "127.0.0.1:9", "::1:10026"])
    }

    /// Long messages go in several writes, and a long line in `L` pieces. (A byte peer: the
    /// scripted connection keeps what was written as text, and lengths above 127 are not UTF-8.)
    @Test func largeMessageIsStreamedInPieces() async throws {
        let long = String(repeating: "x", count: 5000)
        let lines = (0..<2000).map { "line \($0) " + String(repeating: "y", count: 60) }
        let body = ([long] + lines).joined(separator: "\r\n") + "\r\n"
        let cleanup = BytePeer(Self.greeting.encoded() + Self.answer(0).encoded())
        #expect(try await Self.queue(connector: cleanup, message: "Subject: big\r\n\r\n" + body) == .ok("Queued! (Queue-Id: 4ABCD12EF)"))
        #expect(cleanup.writes > 2)
        let records = try Self.sentRecords(cleanup.written, flags: 0)
        #expect(records.prefix(7).map { String($0.prefix(1)) } == ["T", "S", "R", "R", "M", "N", "N"])
        #expect(records[7] == "L " + String(repeating: "x", count: 2048))
        #expect(records[8] == "L " + String(repeating: "x", count: 2048))
        #expect(records[9] == "N " + String(repeating: "x", count: 904))
        #expect(Array(records[10..<2010]) == lines.map { "N " + $0 })
        #expect(records.suffix(2) == ["X ", "E "])
    }

    // MARK: configuration

    @Test func endpointsInQpsmtpdsOrder() throws {
        let lines = [ConfigLine(text: "/a", file: "cleanup_sockets", lineNumber: 1), ConfigLine(text: "mx:10025", file: "cleanup_sockets", lineNumber: 2)]
        #expect(try CleanupEndpoints.choose(environment: "/env", configured: lines, argument: "/arg") == [.unix(path: "/env")])
        #expect(try CleanupEndpoints.choose(environment: nil, configured: lines, argument: "/arg") == [.unix(path: "/a"), .tcp(host: "mx", port: 10025)])
        #expect(try CleanupEndpoints.choose(environment: "", configured: [], argument: "127.0.0.1:10025") == [.tcp(host: "127.0.0.1", port: 10025)])
        #expect(try CleanupEndpoints.choose(environment: nil, configured: [], argument: nil) == [.unix(path: "/var/spool/postfix/public/cleanup")])
        #expect(throws: PluginArgumentError.self) {
            try CleanupEndpoints.choose(environment: nil, configured: [ConfigLine(text: "nonsense", file: "cleanup_sockets", lineNumber: 3)], argument: nil)
        }
        #expect(throws: PluginArgumentError.self) { try CleanupEndpoints.choose(environment: "host:99999", configured: [], argument: nil) }
    }

    @Test(arguments: [
        ("/var/spool/postfix/public/cleanup", OutboundEndpoint.unix(path: "/var/spool/postfix/public/cleanup")),
        ("localhost:10025", .tcp(host: "localhost", port: 10025)),
        ("[2001:db8::1]:25", .tcp(host: "2001:db8::1", port: 25)),
    ] as [(String, OutboundEndpoint)])
    func endpointForms(text: String, expected: OutboundEndpoint) {
        #expect(CleanupEndpoints.parse(text) == expected)
    }

    @Test(arguments: ["/", "host", "host:", ":25", "host:0", "host:x", "2001:db8::1:25", "a b:25", "FLAG_HOLD"])
    func notEndpoints(text: String) {
        #expect(CleanupEndpoints.parse(text) == nil)
    }

    @Test func flagsAndEnvironment() throws {
        func plugin(_ words: [String], environment: String? = nil, config: [String: [String]] = [:]) throws -> PostfixQueue {
            try PostfixQueue(context: Fixture.context("queue/postfix-queue", words, config: config), environment: environment)
        }
        #expect(try plugin([]).flags == 0)
        #expect(try plugin(["FLAG_MASK_EXTERNAL"]).flags == 2 | 64 | 16 | 32)
        #expect(try plugin(["FLAG_FILTER_ALL", "FLAG_HOLD", "timeout", "30"]).flags == 2 | 64 | 4)
        #expect(try plugin(["FLAG_NONE", "FLAG_BOUNCE", "FLAG_DISCARD", "FLAG_BCC_OK", "FLAG_MILTER", "FLAG_MASK_INTERNAL"]).flags == 1 | 8 | 16 | 64 | 32)
        #expect(try plugin(["127.0.0.1:10025", "FLAG_HOLD"]).endpoints == [.tcp(host: "127.0.0.1", port: 10025)])
        #expect(try plugin(["/s"], environment: "10.0.0.1:10025").endpoints == [.tcp(host: "10.0.0.1", port: 10025)])
        #expect(try plugin(["/s"], config: ["cleanup_sockets": ["/c"]]).endpoints == [.unix(path: "/c")])
        #expect(throws: PluginArgumentError.self) { try plugin(["FLAG_HOLDS"]) }
        #expect(throws: PluginArgumentError.self) { try plugin(["/s", "/t"]) }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("queue/postfix-queue FLAG_UNKNOWN") }
        #expect(try PluginHarness("queue/postfix-queue").registeredHooks == [.queue])
    }
}

extension PostfixAttributeList {
    fileprivate func replacing(status: String) -> PostfixAttributeList {
        PostfixAttributeList(attributes.map { $0.name == "status" ? .init(name: "status", value: status) : $0 })
    }
}

/// Refuses the endpoints named, hands the rest to `then`, and remembers each attempt.
private final class FailingFor: OutboundConnector {
    let failing: Set<String>
    let then: any OutboundConnector
    private let tried = Mutex<[String]>([])

    init(_ failing: Set<String>, then: any OutboundConnector) {
        self.failing = failing
        self.then = then
    }

    var attempts: [String] { tried.withLock { $0 } }

    func connect(to endpoint: OutboundEndpoint, tls: OutboundTLS?, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection {
        tried.withLock { $0.append(endpoint.description) }
        if failing.contains(endpoint.description) { throw OutboundError.cannotConnect("refused") }
        return try await then.connect(to: endpoint, tls: tls, deadline: deadline)
    }
}

/// A peer that answers with fixed bytes and keeps every byte written, in one connection.
private final class BytePeer: OutboundConnector, OutboundConnection {
    private struct State {
        var unread: [UInt8]
        var written: [UInt8] = []
        var writes = 0
    }

    private let state: Mutex<State>

    init(_ answer: [UInt8]) {
        state = Mutex(State(unread: answer))
    }

    var written: [UInt8] { state.withLock { $0.written } }
    var writes: Int { state.withLock { $0.writes } }

    func connect(to endpoint: OutboundEndpoint, tls: OutboundTLS?, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection {
        self
    }

    func readAvailable(deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        state.withLock { state in
            defer { state.unread = [] }
            return state.unread
        }
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant?) async throws {
        state.withLock {
            $0.written += bytes
            $0.writes += 1
        }
    }

    func readLineBytes(maxLength: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8] { throw OutboundError.closed }
    func read(exactly count: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8] { throw OutboundError.closed }
    func startTLS(_ tls: OutboundTLS, deadline: ContinuousClock.Instant?) async throws { throw OutboundError.tls("none here") }
    func close() async {}
}
