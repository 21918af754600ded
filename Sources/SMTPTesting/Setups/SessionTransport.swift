import NIOCore
import SMTPPluginAPI
import SMTPServer

/// The session alone: `SMTPSession` fed by a `SessionFeed`, no channel, no event loop.
final class SessionTransport: SMTPTestTransport {
    private let feed: SessionFeed
    private var replies: AsyncStream<ByteBuffer>.AsyncIterator
    private let task: Task<Void, Never>

    init(environment: SessionEnvironment, connection: Connection) {
        let feed = SessionFeed(limits: environment.settings.limits)
        self.feed = feed
        connection.outOfTurnInput = feed.outOfTurnInput
        replies = feed.replies.makeAsyncIterator()
        task = Task {
            let session = SMTPSession(environment: environment, connection: connection, sink: feed)
            var inbound = feed.parts.makeAsyncIterator()
            await session.run(inbound: &inbound)
            feed.sessionEnded()
        }
    }

    func write(_ bytes: ByteBuffer) async throws {
        feed.receive(bytes)
    }

    func read() async throws -> ByteBuffer? {
        await replies.next()
    }

    func close() async {
        feed.clientClosed()
        await task.value
    }

    func abandon() {
        feed.clientClosed()
    }
}
