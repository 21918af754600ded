public import Logging
import NIOCore
public import SMTPDaemon
public import SMTPPluginAPI

/// One client API over every `SMTPTestSetup`: a test scripts a conversation once and runs it on
/// a bare session, on the codec in an embedded channel, or live over loopback.
///
///     let client = try await SMTPTestClient.start(.session, config: ["plugins": ["rcpt_ok", queue.pluginLine]])
///     try await client.greeting()
///     try await client.ehlo("client.example")
///     try await client.mail(from: "s@x.example").expect(250)
///     try await client.rcpt(to: "u@elsewhere.example").expect(550, "5.7.1")
///
/// Replies come back as `ClientReply`; `expect` on a reply throws, naming the command, when the
/// code (or enhanced code) is not the one expected. `mail`, `rcpt`, `data` and `quit` return the
/// reply unchecked; `greeting`, `helo`, `ehlo` and DATA's 354 are checked, as a conversation
/// cannot go on without them (send `command("EHLO x")` to see a refusal).
public final class SMTPTestClient {
    public let setup: SMTPTestSetup
    private let transport: any SMTPTestTransport
    private var reader = ReplyReader()
    /// What the replies not yet read answer, in order, so a reply can name its command.
    private var awaiting: [String] = ["connecting"]
    private var closed = false

    private init(setup: SMTPTestSetup, transport: any SMTPTestTransport) {
        self.setup = setup
        self.transport = transport
    }

    deinit {
        if !closed { transport.abandon() }
    }

    /// Starts a session on `setup`, its environment built from `config` (file name → lines,
    /// `plugins` among them) and `plugins`, as `TestServer` builds it. The client has not read
    /// the greeting yet.
    /// `dns` answers the plugins' lookups instead of the daemon's resolver (a `StubDNSResolver`);
    /// `store` replaces the fresh in-memory state store (to carry state from session to session).
    public static func start(
        _ setup: SMTPTestSetup, config: [String: [String]], plugins registry: PluginRegistry = .testing,
        logLevel: Logger.Level = .critical, dns: (any DNSResolver)? = nil, store: (any StateStore)? = nil
    ) async throws -> SMTPTestClient {
        if setup == .live {
            return SMTPTestClient(setup: setup, transport: try await LiveTransport(
                server: try await TestServer.start(config: config, plugins: registry, logLevel: logLevel, dns: dns, store: store)))
        }
        return try await start(setup, environment: environment(config: config, plugins: registry, logLevel: logLevel, dns: dns, store: store))
    }

    /// A session environment loaded once from `config`, as `start` loads it, for many sessions
    /// through `start(_:environment:)`: a benchmark, or a test opening hundreds of sessions,
    /// should not pay for loading the plugins each time.
    public static func environment(
        config: [String: [String]], plugins registry: PluginRegistry = .testing, logLevel: Logger.Level = .critical,
        dns: (any DNSResolver)? = nil, store: (any StateStore)? = nil
    ) throws -> SMTPTestEnvironment {
        try SMTPTestEnvironment(config: config, plugins: registry, logLevel: logLevel, dns: dns, store: store)
    }

    /// Starts a session in a prepared environment, on `.session` or `.embeddedChannel` (`.live`
    /// needs a listener of its own: use `start(_:config:)`).
    public static func start(_ setup: SMTPTestSetup, environment: SMTPTestEnvironment) async throws -> SMTPTestClient {
        // Loopback on every setup, so what plugins and headers see does not depend on it.
        let connection = Connection(id: "test.\(UInt32.random(in: 0...UInt32.max))", remoteIP: "127.0.0.1", remotePort: 40000, localIP: "127.0.0.1", localPort: 25)
        let transport = try await environment.transport(setup, connection: connection)
        return SMTPTestClient(setup: setup, transport: transport)
    }

    /// Runs `body` with a client on `setup` and closes it afterwards, whether `body` threw or not.
    public static func with<Result>(
        _ setup: SMTPTestSetup, config: [String: [String]], plugins registry: PluginRegistry = .testing,
        dns: (any DNSResolver)? = nil, store: (any StateStore)? = nil, _ body: (SMTPTestClient) async throws -> Result
    ) async throws -> Result {
        let client = try await start(setup, config: config, plugins: registry, dns: dns, store: store)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    // MARK: Raw

    /// Sends the lines, each with CRLF, in one write: several lines are a pipelined batch.
    public func send(_ lines: String...) async throws {
        awaiting += lines
        try await transport.write(ByteBuffer(string: lines.map { $0 + "\r\n" }.joined()))
    }

    /// Sends bytes exactly as given (no CRLF added, nothing stuffed).
    public func send(raw text: String) async throws {
        // Which replies these bytes will get is the server's to decide: name none.
        awaiting.removeAll()
        try await transport.write(ByteBuffer(string: text))
    }

    /// Reads the next complete reply.
    public func reply() async throws -> ClientReply {
        while true {
            if var reply = try reader.next() {
                if !awaiting.isEmpty { reply.command = awaiting.removeFirst() }
                return reply
            }
            guard let more = try await transport.read() else { throw ClientError.closed }
            reader.append(more)
        }
    }

    /// Reads the next reply and checks its code and, when given, its enhanced code.
    @discardableResult
    public func expect(_ code: Int, _ enhanced: String? = nil) async throws -> ClientReply {
        try await reply().expect(code, enhanced)
    }

    /// Sends one command line and reads its reply.
    @discardableResult
    public func command(_ line: String) async throws -> ClientReply {
        try await send(line)
        return try await reply()
    }

    /// True once the server has closed the connection (and sent nothing more).
    public func isClosed() async throws -> Bool {
        if !reader.isEmpty { return false }
        guard let more = try await transport.read() else { return true }
        reader.append(more)
        return false
    }

    /// Closes the connection and waits for the session to end, disconnect hooks included.
    public func close() async {
        guard !closed else { return }
        closed = true
        await transport.close()
    }

    // MARK: Conversation

    /// Reads the greeting and checks it is a 220.
    @discardableResult
    public func greeting() async throws -> ClientReply {
        try await reply().expect(220)
    }

    @discardableResult
    public func helo(_ host: String = "client.example") async throws -> ClientReply {
        try await command("HELO \(host)").expect(250)
    }

    @discardableResult
    public func ehlo(_ host: String = "client.example") async throws -> ClientReply {
        try await command("EHLO \(host)").expect(250)
    }

    /// MAIL FROM with `address` (angle brackets added when missing; `""` or `"<>"` is the null sender).
    public func mail(from address: String, parameters: String = "") async throws -> ClientReply {
        try await command("MAIL FROM:\(Self.bracketed(address))" + (parameters.isEmpty ? "" : " " + parameters))
    }

    public func rcpt(to address: String, parameters: String = "") async throws -> ClientReply {
        try await command("RCPT TO:\(Self.bracketed(address))" + (parameters.isEmpty ? "" : " " + parameters))
    }

    /// DATA, which must get its 354, then `message` dot-stuffed and terminated; returns the reply
    /// to the message.
    public func data(_ message: String) async throws -> ClientReply {
        try await command("DATA").expect(354)
        try await send(message: message)
        return try await reply()
    }

    /// Sends `message` (lines ending in LF or CRLF) as DATA carries it: CRLF line ends, a dot
    /// doubled at the start of a line, and the `.` line that ends it.
    public func send(message: String) async throws {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        if lines.last == "" { lines.removeLast() }
        let stuffed = lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        try await transport.write(ByteBuffer(string: stuffed.map { $0 + "\r\n" }.joined() + ".\r\n"))
        awaiting.append("the message")
    }

    @discardableResult
    public func quit() async throws -> ClientReply {
        try await command("QUIT")
    }

    private static func bracketed(_ address: String) -> String {
        address.hasPrefix("<") ? address : "<\(address)>"
    }
}
