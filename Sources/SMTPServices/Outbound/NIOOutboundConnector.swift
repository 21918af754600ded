public import NIOCore
public import NIOPosix
import NIOSSL
public import SMTPPluginAPI

/// Opens plugins' client connections with NIO: TCP or a UNIX socket, TLS through NIOSSL.
public final class NIOOutboundConnector: OutboundConnector {
    private let group: any EventLoopGroup
    private let tlsContexts = ClientTLSContexts()

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    public func connect(to endpoint: OutboundEndpoint, tls: OutboundTLS?, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { throw OutboundError.timedOut }
        let host: String? = if case .tcp(let host, _) = endpoint { host } else { nil }
        let sslContext = try tls.map { try tlsContexts.context(for: $0) }
        let serverName = tls.flatMap { ClientTLSContexts.serverName($0, host: host) }
        let inbound = InboundBytes()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(remaining))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(InboundBytesHandler(inbound))
                }
            }
        let channel: any Channel
        do {
            switch endpoint {
            case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
            case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch ChannelError.connectTimeout(_) {
            throw OutboundError.timedOut
        } catch {
            throw OutboundError.cannotConnect(ConnectFailureText.describe(error))
        }
        let connection = ChannelOutboundConnection(channel: channel, inbound: inbound, host: host, deadline: deadline, tlsContexts: tlsContexts)
        if Task.isCancelled {
            await connection.close()
            throw CancellationError()
        }
        if tls != nil {
            try await connection.awaitHandshake(deadline: nil)
        }
        return connection
    }
}
