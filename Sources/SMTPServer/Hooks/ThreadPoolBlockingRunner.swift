public import NIOPosix
public import SMTPPluginAPI

/// Runs plugins' blocking work (fsync, file writes, waiting for a child) on NIO's thread pool,
/// so it never stalls the event loops or the threads that run sessions.
public struct ThreadPoolBlockingRunner: BlockingWorkRunner {
    private let pool: NIOThreadPool

    public init(pool: NIOThreadPool = .singleton) {
        self.pool = pool
    }

    public func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await pool.runIfActive(work)
    }
}
