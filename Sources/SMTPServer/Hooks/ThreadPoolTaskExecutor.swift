public import NIOPosix

/// Runs plugins' asynchronous hook work on the daemon's thread pool (`blocking_threads`, 32 by
/// default) rather than on Swift's cooperative pool, which has one thread per core. A plugin
/// that blocks a thread (a slow C library, a `sleep`) then takes one pool thread, not half of
/// the threads everything else in the process (timers, the service group, other plugins) runs on.
public final class ThreadPoolTaskExecutor: TaskExecutor, @unchecked Sendable {  // immutable; NIOThreadPool is thread-safe
    let pool: NIOThreadPool

    public init(_ pool: NIOThreadPool) {
        self.pool = pool
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pool.submit { _ in
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
