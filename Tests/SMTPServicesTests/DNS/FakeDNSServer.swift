import DNSWire
import NIOCore
import NIOPosix
import Synchronization

/// A DNS server that misbehaves on purpose — silent, garbage, always truncating, spoofing — for
/// the resolver tests that a well-behaved unbound cannot give. `respond` turns each query into
/// the datagrams to send back (none for silence).
final class FakeDNSServer: Sendable {
    typealias Responder = @Sendable (_ query: DNSMessage) -> [[UInt8]]

    let udp: any Channel
    let tcp: (any Channel)?
    private let counter = QueryCounter()

    var address: SocketAddress { udp.localAddress! }
    /// Queries received over UDP and TCP.
    var queries: Int { counter.value }

    /// `tcpRespond` nil: nothing listens on TCP (connections are refused).
    init(host: String = "127.0.0.1", respond: @escaping Responder, tcpRespond: Responder? = nil) async throws {
        let counter = self.counter
        // TCP must listen on the port the kernel gave UDP; when another test holds that TCP port,
        // start over on another.
        for attempt in 1... {
            let udp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FakeDatagramHandler(respond: respond, counter: counter))
                    }
                }
                .bind(host: host, port: 0).get()
            guard let tcpRespond else {
                (self.udp, self.tcp) = (udp, nil)
                return
            }
            do {
                let tcp = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(FakeStreamHandler(respond: tcpRespond, counter: counter))
                        }
                    }
                    .bind(host: host, port: udp.localAddress!.port!).get()
                (self.udp, self.tcp) = (udp, tcp)
                return
            } catch where attempt < 20 {
                try? await udp.close()
            }
        }
        fatalError("unreachable")
    }

    func stop() async {
        try? await udp.close()
        try? await tcp?.close()
    }

    // MARK: ready-made behaviours

    static let silent: Responder = { _ in [] }

    /// A well-formed answer to `query` with `answers` (and `rcode`, `truncated`).
    static func reply(to query: DNSMessage, answers: [DNSResourceRecord] = [], rcode: UInt16 = DNSRCode.noError, truncated: Bool = false, id: UInt16? = nil, question: DNSQuestion? = nil) -> [UInt8] {
        var header = query.header
        header.id = id ?? query.header.id
        header.isResponse = true
        header.recursionAvailable = true
        header.truncated = truncated
        header.rcode = rcode
        let message = DNSMessage(header: header, questions: [question ?? query.questions[0]], answers: answers)
        return try! DNSWire.encode(message)
    }
}

/// What both transports of a fake server share: the behaviour and the query count.
private class FakeHandlerBase: @unchecked Sendable {
    let respond: FakeDNSServer.Responder
    let counter: QueryCounter

    init(respond: @escaping FakeDNSServer.Responder, counter: QueryCounter) {
        self.respond = respond
        self.counter = counter
    }
}

private final class FakeDatagramHandler: FakeHandlerBase, ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        counter.add()
        guard let query = try? DNSWire.decode(Array(envelope.data.readableBytesView)) else { return }
        for datagram in respond(query) {
            let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: datagram))
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }
}

private final class FakeStreamHandler: FakeHandlerBase, ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let length = buffer.readInteger(as: UInt16.self), let bytes = buffer.readBytes(length: Int(length)),
              let query = try? DNSWire.decode(bytes)
        else { return }
        counter.add()
        let answers = respond(query)
        if answers.isEmpty {
            context.close(promise: nil)
            return
        }
        for answer in answers {
            var out = context.channel.allocator.buffer(capacity: answer.count + 2)
            out.writeInteger(UInt16(answer.count))
            out.writeBytes(answer)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }
}

final class QueryCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
