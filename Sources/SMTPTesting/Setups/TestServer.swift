public import Logging
import NIOCore
import NIOPosix
public import SMTPDaemon
public import SMTPPluginAPI
public import SMTPServer
import ServiceLifecycle

/// A real listener on 127.0.0.1 with an ephemeral port, configured from in-memory files, for
/// testing the session and plugins through real sockets:
///
///     let server = try await TestServer.start(config: ["plugins": ["rcpt_ok"], "me": ["mx.test"]])
///     defer { server.stop() }
///     let client = try await server.connect()
///     try await client.expect(220)
public final class TestServer: Sendable {
    public let port: Int
    public let environment: SessionEnvironment
    private let task: Task<Void, any Error>
    private let group: ServiceGroup

    private init(port: Int, environment: SessionEnvironment, task: Task<Void, any Error>, group: ServiceGroup) {
        self.port = port
        self.environment = environment
        self.task = task
        self.group = group
    }

    /// Loads `config` (file name → lines) with the given plugins and starts listening.
    /// Plugin loading problems are thrown, not logged, so a test sees them.
    public static func start(
        config files: [String: [String]], plugins registry: PluginRegistry = .builtIn,
        maxConnections: Int = 0, maxPerIP: Int = 0, logLevel: Logger.Level = .critical,
        shutdownGrace: Duration = .seconds(30), dns: (any DNSResolver)? = nil, store: (any StateStore)? = nil
    ) async throws -> TestServer {
        let environment = try TestEnvironment.make(config: files, plugins: registry, logLevel: logLevel, dns: dns, store: store)
        let logger = environment.logger
        let limiter = ConnectionLimiter(maxConnections: maxConnections, maxPerIP: maxPerIP)
        let (bound, continuation) = AsyncStream.makeStream(of: Int.self)
        let listener = SMTPListener(host: "127.0.0.1", port: 0, limiter: limiter, environment: { environment }) { address in
            continuation.yield(address.port ?? 0)
            continuation.finish()
        }
        // As the daemon runs it: a service group, whose graceful shutdown lets sessions finish
        // for `shutdownGrace` and then cancels them.
        var configuration = ServiceGroupConfiguration(services: [listener], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        let group = ServiceGroup(configuration: configuration)
        let task = Task { try await group.run() }
        var iterator = bound.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ClientError.closed }
        return TestServer(port: port, environment: environment, task: task, group: group)
    }

    /// A graceful shutdown, as SIGTERM starts one; returns when the server has stopped.
    public func shutDown() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    public func connect() async throws -> ScriptedSMTPClient {
        try await ScriptedSMTPClient.connect(port: port)
    }

    public func stop() {
        task.cancel()
    }
}

/// One thread pool for every test server and harness in the process, sized as the daemon's
/// (`blocking_threads`): tests that block plugin threads run in parallel with the others.
enum TestThreads {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        return pool
    }()
}
