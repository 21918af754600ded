import NIOCore

/// Runs a session's task on its own channel's event loop. Without it every command crosses two
/// threads (event loop → concurrency pool → event loop), which the profile showed as the largest
/// cost of the protocol path; this NIO version has no task executor of its own, so this is the
/// small adapter Swift's TaskExecutor protocol asks for.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {  // immutable; EventLoop is thread-safe
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
