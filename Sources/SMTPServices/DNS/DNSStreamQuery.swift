import DNSWire
import NIOCore
import NIOPosix

/// One query over TCP (RFC 1035 §4.2.2, RFC 7766), for answers too large for UDP: connect,
/// send the query behind its two-octet length, read one length-prefixed response, close.
enum DNSStreamQuery {
    static func ask(
        _ question: DNSQuestion, of server: SocketAddress, until deadline: NIODeadline,
        group: any EventLoopGroup
    ) -> EventLoopFuture<DNSMessage> {
        let eventLoop = group.next()
        let id = UInt16.random(in: .min ... .max)
        let query: [UInt8]
        do {
            query = try DNSWire.query(id: id, name: question.name, type: question.type)
        } catch {
            return eventLoop.makeFailedFuture(DNSTryError.unusable("cannot encode \(question.name): \(error)"))
        }
        let promise = eventLoop.makePromise(of: DNSMessage.self)
        let timer = eventLoop.scheduleTask(deadline: deadline) { promise.fail(DNSTryError.noAnswer) }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        let remaining = deadline - .now()
        ClientBootstrap(group: eventLoop)
            .connectTimeout(max(remaining, .milliseconds(1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DNSStreamResponseHandler(id: id, question: question, promise: promise))
                }
            }
            .connect(to: server)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    var buffer = channel.allocator.buffer(capacity: query.count + 2)
                    buffer.writeInteger(UInt16(query.count))
                    buffer.writeBytes(query)
                    channel.writeAndFlush(buffer, promise: nil)
                    // However the query ends (answer, timeout, cancel), the connection goes.
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    promise.fail(DNSTryError.unusable("TCP to \(server): \(error)"))
                }
            }
        return promise.futureResult
    }
}

/// Collects one length-prefixed response; a response that does not match the query, or does
/// not decode, ends the try without an answer.
final class DNSStreamResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let id: UInt16
    private let question: DNSQuestion
    private let promise: EventLoopPromise<DNSMessage>
    private var received: ByteBuffer?

    init(id: UInt16, question: DNSQuestion, promise: EventLoopPromise<DNSMessage>) {
        self.id = id
        self.question = question
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if received == nil {
            received = chunk
        } else {
            received!.writeBuffer(&chunk)
        }
        guard var buffer = received, let length = buffer.readInteger(as: UInt16.self),
              let bytes = buffer.readBytes(length: Int(length))
        else { return }
        guard let message = try? DNSWire.decode(bytes), message.header.id == id, message.header.isResponse,
              message.questions.count == 1, DNSDatagramHandler.same(message.questions[0], question)
        else {
            promise.fail(DNSTryError.unusable("unusable TCP response"))
            return
        }
        promise.succeed(message)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSTryError.unusable("TCP connection closed before the answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(DNSTryError.unusable("TCP: \(error)"))
        context.close(promise: nil)
    }
}
