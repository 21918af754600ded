import NIOCore
import ServiceLifecycle

/// When the daemon starts a graceful shutdown, tell the session through its own pipeline, so it
/// ends at the next safe point (between commands, or after the message in flight) with a 421.
func withGracefulShutdownNotice(channel: any Channel, _ body: () async throws -> Void) async throws {
    try await withGracefulShutdownHandler {
        try await body()
    } onGracefulShutdown: {
        channel.pipeline.fireUserInboundEventTriggered(SMTPShutdownRequest())
    }
}
