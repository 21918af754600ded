import DNSWire
import NIOCore
import NIOPosix

/// Why one try of a query got no answer.
enum DNSTryError: Error, Equatable {
    case noAnswer
    case cancelled
    case unusable(String)
}

/// One UDP socket with many queries in flight. A reply is taken only when its id, its source
/// address and its question all match a query sent from this socket; anything else (a late
/// answer, a spoofed one, garbage) is dropped and the query goes on waiting for the real one.
final class DNSDatagramSocket: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<DNSDatagramHandler>

    /// A socket on a port the kernel picks at random, for servers of `family`.
    static func open(on eventLoop: any EventLoop, family: NIOBSDSocket.ProtocolFamily) -> EventLoopFuture<DNSDatagramSocket> {
        let host = family == .inet6 ? "::" : "0.0.0.0"
        return DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DNSDatagramHandler())
                }
            }
            .bind(host: host, port: 0)
            .flatMap { channel in
                channel.pipeline.handler(type: DNSDatagramHandler.self).map { handler in
                    DNSDatagramSocket(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
    }

    private init(channel: any Channel, handler: NIOLoopBound<DNSDatagramHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Sends the question to `server`; `promise` gets the answer, or `DNSTryError.noAnswer` at
    /// `deadline`. `serverUsable` is asked on the socket's loop just before sending: a server
    /// put down meanwhile is not asked (`abandon` runs on the same loop, so a query is either
    /// registered before it and abandoned, or refused here).
    func ask(_ question: DNSQuestion, of server: SocketAddress, until deadline: NIODeadline, promise: EventLoopPromise<DNSMessage>, serverUsable: @escaping @Sendable () -> Bool) {
        let handler = self.handler
        channel.eventLoop.execute {
            guard serverUsable() else {
                promise.fail(DNSTryError.noAnswer)
                return
            }
            handler.value.ask(question, of: server, until: deadline, promise: promise)
        }
    }

    /// Takes back the query `promise` waits for (its lookup was cancelled); `promise` fails.
    func withdraw(_ promise: EventLoopPromise<DNSMessage>) {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.withdraw(promise)
        }
    }

    /// Ends the queries waiting on `server` without an answer.
    func abandon(_ server: SocketAddress) {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.abandon(server)
        }
    }

    /// Stops the socket once the queries in flight are answered or timed out.
    func retire() {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.retire()
        }
    }
}

/// The in-flight table of one UDP socket; lives on the socket's event loop.
final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private struct Pending {
        var question: DNSQuestion
        var server: SocketAddress
        var promise: EventLoopPromise<DNSMessage>
        var timer: Scheduled<Void>?
    }

    private var pending: [UInt16: Pending] = [:]
    private var context: ChannelHandlerContext?
    private var retiring = false

    func retire() {
        retiring = true
        if pending.isEmpty { context?.close(promise: nil) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        for (_, query) in pending {
            query.timer?.cancel()
            query.promise.fail(DNSTryError.noAnswer)
        }
        pending.removeAll()
    }

    func ask(_ question: DNSQuestion, of server: SocketAddress, until deadline: NIODeadline, promise: EventLoopPromise<DNSMessage>) {
        guard let context else {
            promise.fail(DNSTryError.unusable("socket closed"))
            return
        }
        // Random ids, never two alike in flight on this socket.
        var id = UInt16.random(in: .min ... .max)
        while pending[id] != nil { id = UInt16.random(in: .min ... .max) }
        let bytes: [UInt8]
        do {
            bytes = try DNSWire.query(id: id, name: question.name, type: question.type)
        } catch {
            promise.fail(DNSTryError.unusable("cannot encode \(question.name): \(error)"))
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.finish(id, with: .failure(DNSTryError.noAnswer))
        }
        pending[id] = Pending(question: question, server: server, promise: promise, timer: timer)
        let envelope = AddressedEnvelope(remoteAddress: server, data: context.channel.allocator.buffer(bytes: bytes))
        context.writeAndFlush(wrapOutboundOut(envelope)).assumeIsolated().whenFailure { [weak self] error in
            guard let self else { return }
            self.finish(id, with: .failure(DNSTryError.unusable("cannot send to \(server): \(error)")))
        }
    }

    func withdraw(_ promise: EventLoopPromise<DNSMessage>) {
        guard let id = pending.first(where: { $0.value.promise.futureResult === promise.futureResult })?.key else { return }
        finish(id, with: .failure(DNSTryError.cancelled))
    }

    func abandon(_ server: SocketAddress) {
        for (id, query) in pending where query.server == server {
            finish(id, with: .failure(DNSTryError.noAnswer))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        guard bytes.count >= 2 else { return }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let query = pending[id], query.server == envelope.remoteAddress else { return }
        guard let message = try? DNSWire.decode(bytes), message.header.isResponse,
              message.questions.count == 1, Self.same(message.questions[0], query.question)
        else { return }
        finish(id, with: .success(message))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors and the like on an unconnected socket say nothing about a given query;
        // its timer decides.
    }

    private func finish(_ id: UInt16, with result: Result<DNSMessage, any Error>) {
        guard let query = pending.removeValue(forKey: id) else { return }
        query.timer?.cancel()
        query.promise.completeWith(result)
        if pending.isEmpty && retiring, let context {
            context.close(promise: nil)
        }
    }

    /// Names compare without case (RFC 4343); the codec lower-cases them already.
    static func same(_ a: DNSQuestion, _ b: DNSQuestion) -> Bool {
        a.type == b.type && a.rrclass == b.rrclass && a.name == b.name
    }
}
