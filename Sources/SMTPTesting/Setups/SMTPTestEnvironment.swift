import Logging
import SMTPDaemon
import SMTPPluginAPI
import SMTPServer

/// Plugins loaded once from a test's config (`SMTPTestClient.environment(config:)`), for many
/// sessions. Opaque, so tests need not import the server's types.
public struct SMTPTestEnvironment: Sendable {
    let session: SessionEnvironment

    init(config: [String: [String]], plugins: PluginRegistry, logLevel: Logger.Level, dns: (any DNSResolver)?, store: (any StateStore)?) throws {
        session = try TestEnvironment.make(config: config, plugins: plugins, logLevel: logLevel, dns: dns, store: store)
    }

    /// A session in this environment on `setup` (`.live` needs a listener of its own).
    func transport(_ setup: SMTPTestSetup, connection: Connection) async throws -> any SMTPTestTransport {
        switch setup {
        case .session:
            return SessionTransport(environment: session, connection: connection)
        case .embeddedChannel:
            return try await EmbeddedChannelTransport(environment: session, connection: connection)
        case .live:
            throw ClientError.unsupported("a live session needs its own listener: start(.live, config:)")
        }
    }
}
