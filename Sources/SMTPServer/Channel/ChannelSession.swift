import Logging
public import NIOCore
import NIOPosix
import NIOSSL
public import SMTPCore
public import SMTPPluginAPI

/// The seam between NIO and the async session: `configure` runs on the event loop when a channel
/// opens, `run` drives the session in a task.
public enum ChannelSession {
    public typealias AsyncSMTPChannel = NIOAsyncChannel<SMTPInboundPart, SMTPOutboundPart>

    /// Adds TLS (on implicit-TLS listeners) and the SMTP codec (with its deadlines), and wraps the
    /// channel for async use. `environment.tls`, when set, also serves STARTTLS.
    public static func configure(
        _ channel: any Channel, environment: SessionEnvironment, implicitTLS: Bool = false,
        isUnderStress: @escaping @Sendable () -> Bool = { false }
    ) throws -> AsyncSMTPChannel {
        let limits = environment.settings.limits
        if implicitTLS {
            guard let tls = environment.tls else { throw ChannelError.operationUnsupported }
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        }
        try channel.pipeline.syncOperations.addHandler(SMTPServerCodec(
            limits: limits, timeouts: ClientTimeouts(limits: limits, isUnderStress: isUnderStress),
            startTLSContext: implicitTLS ? nil : environment.tls))
        return try AsyncSMTPChannel(wrappingChannelSynchronously: channel)
    }

    /// Runs one session on a configured channel until it ends, then closes the channel.
    public static func run(_ channel: AsyncSMTPChannel, connection: Connection, environment: SessionEnvironment) async {
        await SessionLogContext.$connectionID.withValue(connection.id) {
            await withTaskExecutorPreference(EventLoopTaskExecutor(channel.channel.eventLoop)) {
                await runOnEventLoop(channel, connection: connection, environment: environment)
            }
        }
    }

    private static func runOnEventLoop(_ channel: AsyncSMTPChannel, connection: Connection, environment: SessionEnvironment) async {
        let underlying = channel.channel
        // The codec has watched for out-of-turn bytes since the channel opened; plugins see them here.
        if let watch = try? await underlying.eventLoop.submit({
            try underlying.pipeline.syncOperations.handler(type: SMTPServerCodec.self).outOfTurnInput
        }).get() {
            connection.outOfTurnInput = watch
        }
        do {
            try await channel.executeThenClose { inbound, outbound in
                let session = SMTPSession(environment: environment, connection: connection, sink: WriterSink(writer: outbound))
                var iterator = inbound.makeAsyncIterator()
                try await withGracefulShutdownNotice(channel: underlying) {
                    await session.run(inbound: &iterator)
                }
            }
        } catch {
            environment.logger.debug("session \(connection.id) closed with error: \(error)")
        }
    }

    /// Sends one final reply and closes, for connections refused before a session starts.
    public static func refuse(_ channel: AsyncSMTPChannel, reply: SMTPReply) async {
        try? await channel.executeThenClose { _, outbound in
            try await outbound.write(SMTPOutboundPart(reply, then: .close))
        }
    }

    struct WriterSink: SMTPReplySink {
        let writer: NIOAsyncChannelOutboundWriter<SMTPOutboundPart>
        func send(_ parts: [SMTPOutboundPart]) async throws {
            try await writer.write(contentsOf: parts)
        }
    }
}
