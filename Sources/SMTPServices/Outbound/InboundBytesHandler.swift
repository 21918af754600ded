import NIOCore
import NIOSSL
import NIOTLS
import SMTPPluginAPI

/// Feeds `InboundBytes` from the channel; last in the pipeline.
final class InboundBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let inbound: InboundBytes

    init(_ inbound: InboundBytes) {
        self.inbound = inbound
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !inbound.append(unwrapInboundIn(data)) {
            inbound.end(OutboundError.tooMuchUnread(InboundBytes.maximumUnread))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbound.end(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbound.end(error is NIOSSLError ? OutboundError.tls("\(error)") : error)
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            inbound.tlsEstablished()
        }
        context.fireUserInboundEventTriggered(event)
    }
}
