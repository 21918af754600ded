import NIOCore
import NIOEmbedded
import SMTPPluginAPI
import SMTPServer

/// The production channel code — `ChannelSession.configure` (the codec) and `ChannelSession.run`
/// — on an `NIOAsyncTestingChannel`: no socket, but every byte goes through the pipeline. Its
/// clock stands still, so the codec's deadlines never fire here.
final class EmbeddedChannelTransport: SMTPTestTransport {
    private let channel: NIOAsyncTestingChannel
    private let task: Task<Void, Never>

    init(environment: SessionEnvironment, connection: Connection) async throws {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: connection.remoteIP, port: connection.remotePort))
        let configured = try await channel.testingEventLoop.executeInContext {
            try ChannelSession.configure(channel, environment: environment)
        }
        self.channel = channel
        task = Task { await ChannelSession.run(configured, connection: connection, environment: environment) }
    }

    func write(_ bytes: ByteBuffer) async throws {
        try await channel.writeInbound(bytes)
    }

    func read() async throws -> ByteBuffer? {
        do {
            return try await channel.waitForOutboundWrite(as: ByteBuffer.self)
        } catch ChannelError.ioOnClosedChannel {
            return nil
        }
    }

    func close() async {
        try? await channel.close()
        await task.value
    }

    func abandon() {
        channel.close(promise: nil)
    }
}
