import Logging
public import NIOCore
public import NIOPosix
import SMTPCore
import SMTPPluginAPI
public import ServiceLifecycle

/// A TCP listener that runs one session per connection, as a lifecycle `Service`: on graceful
/// shutdown it stops accepting and lets open sessions finish.
public final class SMTPListener: Service, Sendable {
    public let host: String
    public let port: Int
    /// TLS from the first byte (port 465, RFC 8314) instead of STARTTLS.
    public let implicitTLS: Bool
    private let environment: @Sendable () -> SessionEnvironment
    private let limiter: ConnectionLimiter
    private let group: any EventLoopGroup
    private let onBound: @Sendable (SocketAddress) -> Void

    /// `environment` is asked at every accept, so a reload takes effect for new connections.
    public init(
        host: String, port: Int, implicitTLS: Bool = false, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        limiter: ConnectionLimiter,
        environment: @escaping @Sendable () -> SessionEnvironment,
        onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.implicitTLS = implicitTLS
        self.group = group
        self.limiter = limiter
        self.environment = environment
        self.onBound = onBound
    }

    public func run() async throws {
        let environment = self.environment
        let implicitTLS = self.implicitTLS
        let limiter = self.limiter
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // TCP_NODELAY at the TCP level (a SOL_SOCKET option with the same number is SO_DEBUG,
            // which only root may set): pipelined replies go out without waiting for an ACK.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A client may send its last commands and shut down its side; it still gets the replies.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: host, port: port) { channel in
                // Asked per connection, so a reload (new certificate, new limits) applies to new clients.
                channel.eventLoop.makeCompletedFuture {
                    try ChannelSession.configure(channel, environment: environment(), implicitTLS: implicitTLS) { limiter.isUnderStress }
                }
            }
        if let address = server.channel.localAddress { onBound(address) }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { clients in
                for try await client in clients.cancelOnGracefulShutdown() {
                    group.addTask { await self.serve(client) }
                }
            }
        }
    }

    private func serve(_ client: ChannelSession.AsyncSMTPChannel) async {
        let remote = client.channel.remoteAddress
        let local = client.channel.localAddress
        let ip = remote?.ipAddress ?? "0.0.0.0"
        let env = environment()
        // A plugin that enforces the per-address limit itself (hosts_allow) gets the count instead.
        let pluginLimitsAddress = env.hooks.registry.perAddressLimitByPlugin
        let (refusal, fromAddress) = limiter.acquire(ip, enforcingPerAddressLimit: !pluginLimitsAddress)
        if let refusal {
            let text = refusal == .tooManyConnections
                ? "\(env.settings.hostName) Too many connections, try again later"
                : "\(env.settings.hostName) Too many connections from \(ip), try again later"
            env.logger.notice("refused \(ip): \(text)")
            await ChannelSession.refuse(client, reply: SMTPReply(421, EnhancedStatusCode(4, 7, 0), text))
            return
        }
        defer { limiter.release(ip) }
        let connection = Connection(
            id: SessionIDs.next(), remoteIP: ip, remotePort: remote?.port ?? 0,
            localIP: local?.ipAddress ?? "0.0.0.0", localPort: local?.port ?? 0)
        connection.addressConcurrency = AddressConcurrency(open: fromAddress, limit: limiter.maxPerIP)
        // pre-connection: the last chance to refuse before a session exists (hosts_allow and friends).
        switch await env.hooks.run(.preConnection, HookCall(connection: connection, transaction: nil)) {
        case .answered(.deny(let m), _), .answered(.denyDisconnect(let m), _):
            await ChannelSession.refuse(client, reply: SMTPReply(code: 554, defaultEnhanced: EnhancedStatusCode(5, 7, 1), text: m ?? "Sorry, service not available for you"))
            return
        case .answered(.denySoft(let m), _), .answered(.denySoftDisconnect(let m), _):
            await ChannelSession.refuse(client, reply: SMTPReply(code: 421, defaultEnhanced: EnhancedStatusCode(4, 7, 0), text: m ?? "Sorry, try again later"))
            return
        default:
            break
        }
        await ChannelSession.run(client, connection: connection, environment: env)
    }
}
