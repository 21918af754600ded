import NIOCore

/// Collects what a child writes on a pipe until end of file, keeping at most `limit` bytes.
final class PipeCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var collected: [UInt8] = []
    private var finished = false
    private let limit: Int
    private let done: EventLoopPromise<[UInt8]>

    init(limit: Int, done: EventLoopPromise<[UInt8]>) {
        self.limit = limit
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let room = limit - collected.count
        if room > 0 {
            collected.append(contentsOf: buffer.readableBytesView.prefix(room))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Closed before it became active, or removed: still answer with what there is.
        finish()
    }

    /// Once only: NIO promises must be completed exactly once.
    private func finish() {
        guard !finished else { return }
        finished = true
        done.succeed(collected)
    }
}
