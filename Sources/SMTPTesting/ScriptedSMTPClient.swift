import NIOCore
import NIOPosix

/// A reply as a client sees it: the code and the text of every line (enhanced code included).
public struct ClientReply: Sendable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]
    public var text: String { lines.joined(separator: "\n") }
    public var description: String { "\(code) \(lines.joined(separator: " | "))" }
}

public enum ClientError: Error, CustomStringConvertible {
    case closed
    case unexpected(expected: Int, got: ClientReply)
    case malformed(String)

    public var description: String {
        switch self {
        case .closed: return "connection closed"
        case .unexpected(let expected, let got): return "expected \(expected), got \(got)"
        case .malformed(let line): return "malformed reply line: \(line)"
        }
    }
}

/// A small SMTP client for tests: sends raw bytes, reads whole (multi-line) replies.
public final class ScriptedSMTPClient {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffer = ByteBuffer()

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
        var lines: [String] = []
        while true {
            let line = try await nextLine()
            guard line.utf8.count >= 3, let code = Int(line.prefix(3)) else { throw ClientError.malformed(line) }
            let separator = line.dropFirst(3).first
            lines.append(String(line.dropFirst(4)))
            if separator != "-" { return ClientReply(code: code, lines: lines) }
        }
    }

    /// Reads a reply and checks its code.
    @discardableResult
    public func expect(_ code: Int) async throws -> ClientReply {
        let got = try await reply()
        guard got.code == code else { throw ClientError.unexpected(expected: code, got: got) }
        return got
    }

    /// Sends one command line and returns the reply.
    @discardableResult
    public func command(_ line: String) async throws -> ClientReply {
        try await send(line + "\r\n")
        return try await reply()
    }

    /// True once the server has closed the connection.
    public func isClosed() async throws -> Bool {
        if buffer.readableBytes > 0 { return false }
        return try await inbound.next() == nil
    }

    public func close() async {
        try? await channel.channel.close()
    }

    private func nextLine() async throws -> String {
        while true {
            if let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = lf - buffer.readerIndex
                var line = buffer.readString(length: length)!
                buffer.moveReaderIndex(forwardBy: 1)
                if line.hasSuffix("\r") { line.removeLast() }
                return line
            }
            guard var more = try await inbound.next() else { throw ClientError.closed }
            buffer.writeBuffer(&more)
        }
    }
}
