public import SMTPPluginAPI
import Synchronization

/// An outbound connector without a network: every connection reads the bytes `replies` gives it
/// for what was written so far, and keeps what the plugin wrote. For protocol logic tests; the
/// real connector is tested against real servers.
///
///     let imap = ScriptedOutboundConnector(greeting: "* OK ready\r\n") { line in
///         line.hasPrefix("a1 LOGIN") ? "a1 OK welcome\r\n" : ""
///     }
public final class ScriptedOutboundConnector: OutboundConnector {
    private let greeting: String
    private let replies: @Sendable (String) -> String
    private let opened = Mutex<[ScriptedOutboundConnection]>([])

    /// `replies` gets each complete line the plugin writes (without its ending) and returns what
    /// the peer answers ("" for nothing).
    public init(greeting: String = "", replies: @escaping @Sendable (String) -> String) {
        self.greeting = greeting
        self.replies = replies
    }

    public var connections: [ScriptedOutboundConnection] { opened.withLock { $0 } }

    public func connect(to endpoint: OutboundEndpoint, tls: OutboundTLS?, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection {
        let connection = ScriptedOutboundConnection(endpoint: endpoint, greeting: Array(greeting.utf8), replies: replies)
        opened.withLock { $0.append(connection) }
        return connection
    }
}

public final class ScriptedOutboundConnection: OutboundConnection {
    private struct State {
        var unread: [UInt8]
        var written: [UInt8] = []
        var partialLine: [UInt8] = []
        var closed = false
        var tls: OutboundTLS?
    }

    public let endpoint: OutboundEndpoint
    private let replies: @Sendable (String) -> String
    private let state: Mutex<State>

    init(endpoint: OutboundEndpoint, greeting: [UInt8], replies: @escaping @Sendable (String) -> String) {
        self.endpoint = endpoint
        self.replies = replies
        state = Mutex(State(unread: greeting))
    }

    /// Everything the plugin wrote.
    public var written: String { state.withLock { String(decoding: $0.written, as: UTF8.self) } }
    public var isClosed: Bool { state.withLock { $0.closed } }
    public var tls: OutboundTLS? { state.withLock { $0.tls } }

    public func readLineBytes(maxLength: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        try state.withLock { state in
            guard let newline = state.unread.firstIndex(of: 10) else { throw OutboundError.closed }
            var line = Array(state.unread[..<newline])
            state.unread.removeFirst(newline + 1)
            if line.last == 13 { line.removeLast() }
            guard line.count <= maxLength else { throw OutboundError.lineTooLong(maxLength) }
            return line
        }
    }

    public func read(exactly count: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        try state.withLock { state in
            guard state.unread.count >= count else { throw OutboundError.closed }
            defer { state.unread.removeFirst(count) }
            return Array(state.unread[..<count])
        }
    }

    public func readAvailable(deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        state.withLock { state in
            defer { state.unread = [] }
            return state.unread
        }
    }

    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant?) async throws {
        let lines = try state.withLock { state -> [String] in
            guard !state.closed else { throw OutboundError.closed }
            state.written += bytes
            state.partialLine += bytes
            var lines: [String] = []
            while let newline = state.partialLine.firstIndex(of: 10) {
                var line = Array(state.partialLine[..<newline])
                state.partialLine.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                lines.append(String(decoding: line, as: UTF8.self))
            }
            return lines
        }
        let answers = lines.map(replies)
        state.withLock { state in
            for answer in answers { state.unread += Array(answer.utf8) }
        }
    }

    public func startTLS(_ tls: OutboundTLS, deadline: ContinuousClock.Instant?) async throws {
        state.withLock { $0.tls = tls }
    }

    public func close() async {
        state.withLock { $0.closed = true }
    }
}
