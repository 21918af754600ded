import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A NIO server on 127.0.0.1 (or a UNIX socket) for the connector's tests: it echoes what it
/// receives, except that a line `quiet` makes it stop answering and `STARTTLS` answers `220 go`
/// and starts TLS with `tls` (which `implicitTLS` uses from the start). It counts connections that closed.
final class LoopbackServer: Sendable {
    let channel: any Channel
    let closedConnections: Atomic<Int>

    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) {
        self.channel = channel
        self.closedConnections = Atomic(0)
    }

    static func start(unixPath: String? = nil, tls: NIOSSLContext? = nil, implicitTLS: Bool = false) async throws -> LoopbackServer {
        let counter = Counter()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS, let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(counter: counter, tls: tls))
                }
            }
        let channel = if let unixPath {
            try await bootstrap.bind(unixDomainSocketPath: unixPath, cleanupExistingSocketFile: true).get()
        } else {
            try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        let server = LoopbackServer(channel: channel)
        counter.server.withLock { $0 = server }
        return server
    }

    func stop() async {
        try? await channel.close().get()
    }

    /// Waits up to ten seconds (the whole suite runs in parallel on two cores) for `count`
    /// connections to have closed.
    func waitForClosed(_ count: Int) async -> Bool {
        for _ in 0..<1000 {
            if closedConnections.load(ordering: .relaxed) >= count { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    final class Counter: Sendable {
        let server = Mutex<LoopbackServer?>(nil)
        func closed() { server.withLock { _ = $0?.closedConnections.add(1, ordering: .relaxed) } }
    }

    final class EchoHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let counter: Counter
        let tls: NIOSSLContext?
        var quiet = false

        init(counter: Counter, tls: NIOSSLContext?) {
            self.counter = counter
            self.tls = tls
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            if buffer.readableBytesView.starts(with: Array("quiet".utf8)) { quiet = true }
            if let tls, buffer.readableBytesView.starts(with: Array("STARTTLS".utf8)) {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "220 go\r\n")), promise: nil)
                try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                return
            }
            guard !quiet else { return }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            counter.closed()
            context.fireChannelInactive()
        }
    }
}
