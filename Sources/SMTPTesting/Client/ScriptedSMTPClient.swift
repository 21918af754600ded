import NIOCore
import NIOPosix

/// A small SMTP client for tests: sends raw bytes, reads whole (multi-line) replies.
public final class ScriptedSMTPClient {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var reader = ReplyReader()

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) throws {
        self.channel = channel
        self.inbound = channel.inbound.makeAsyncIterator()
        self.outbound = channel.outbound
    }

    deinit {
        // NIO requires its async writer to be finished; closing the writer closes our side.
        outbound.finish()
    }

    static func connect(port: Int) async throws -> ScriptedSMTPClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try ScriptedSMTPClient(channel: channel)
    }

    /// Sends bytes exactly as given (add your own CRLF).
    public func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    public func send(bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Reads the next complete reply.
    public func reply() async throws -> ClientReply {
        while true {
            if let reply = try reader.next() { return reply }
            guard let more = try await receive() else { throw ClientError.closed }
            reader.append(more)
        }
    }

    /// Reads a reply and checks its code (and enhanced code, when given).
    @discardableResult
    public func expect(_ code: Int, _ enhanced: String? = nil) async throws -> ClientReply {
        try await reply().expect(code, enhanced)
    }

    /// Sends one command line and returns the reply.
    @discardableResult
    public func command(_ line: String) async throws -> ClientReply {
        try await send(line + "\r\n")
        return try await reply()
    }

    /// True once the server has closed the connection.
    public func isClosed() async throws -> Bool {
        if !reader.isEmpty { return false }
        return try await inbound.next() == nil
    }

    public func close() async {
        try? await channel.channel.close()
    }

    /// The next bytes the server wrote; nil once it closed.
    func receive() async throws -> ByteBuffer? {
        try await inbound.next()
    }
}
