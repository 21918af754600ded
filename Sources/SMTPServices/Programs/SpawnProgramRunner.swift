#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore
public import NIOPosix
public import SMTPPluginAPI
import Synchronization

/// Runs programs for plugins: posix_spawn with the invocation's descriptors (see `SpawnedChild`),
/// pipes driven by NIO's event loops (no thread waits on them), the child reaped by polling (see
/// `ChildReaper`).
public struct SpawnProgramRunner: ProgramRunner {
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    public func run(_ invocation: ProgramInvocation, deadline: ContinuousClock.Instant) async throws -> ProgramResult {
        try Task.checkCancellation()
        guard ContinuousClock.now < deadline else { throw ProgramError.timedOut }
        let child = try SpawnedChild.spawn(invocation)
        var channels: [any Channel] = []
        // Whatever happens, no pipe outlives the run.
        defer { for channel in channels { channel.close(promise: nil) } }

        for (fd, bytes) in child.inputs {
            guard let channel = try? await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(output: fd).get() else {
                close(fd)  // still ours when the bootstrap fails; the child sees end of file
                continue
            }
            channels.append(channel)
            // Not awaited: a program may exit without reading (EPIPE), which is its business.
            channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { _ in channel.close(promise: nil) }
        }
        var feeds: [(channel: any Channel, stream: ProgramInputStream)] = []
        for (index, (fd, stream)) in child.streams.enumerated() {
            do {
                let channel = try await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(output: fd).get()
                channels.append(channel)
                feeds.append((channel, stream))
            } catch {
                // Unlike a short byte input, a streamed one is the message: a program seeing end
                // of file at once would take the empty input for a whole one.
                for (unused, _) in child.streams[index...] { close(unused) }
                for fd in [child.output, child.error].compactMap({ $0 }) { close(fd) }
                ChildReaper.killAndReap(child.pid)
                throw ProgramError.cannotStart("pipe: \(error)")
            }
        }
        var output: EventLoopFuture<[UInt8]>?
        var error: EventLoopFuture<[UInt8]>?
        for (fd, isOutput) in [(child.output, true), (child.error, false)] {
            guard let fd else { continue }
            // The collector makes its promise and is the only one to complete it (NIO promises
            // must be completed exactly once, and never dropped).
            let collected = CollectedFuture()
            let limit = invocation.captureLimit
            let bootstrap = NIOPipeBootstrap(group: group).channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: [UInt8].self)
                    collected.future.withLock { $0 = promise.futureResult }
                    try channel.pipeline.syncOperations.addHandler(PipeCollector(limit: limit, done: promise))
                }
            }
            if let channel = try? await bootstrap.takingOwnershipOfDescriptor(input: fd).get() {
                channels.append(channel)
            } else {
                close(fd)
            }
            let future = collected.future.withLock { $0 } ?? group.next().makeSucceededFuture([])
            if isOutput { output = future } else { error = future }
        }

        let running = RunningChild(pid: child.pid)
        let termination = try await withThrowingTaskGroup(of: String?.self) { feeders in
            for feed in feeds {
                feeders.addTask { await Self.feed(feed.stream, into: feed.channel, child: running) }
            }
            // Closing a pipe fails a feeder's pending write, so no feeder outlives the program.
            let termination: ProgramTermination
            do {
                termination = try await ChildReaper.wait(for: child.pid, deadline: deadline)
                running.reaped.store(true, ordering: .sequentiallyConsistent)
            } catch {
                running.reaped.store(true, ordering: .sequentiallyConsistent)
                for feed in feeds { feed.channel.close(promise: nil) }
                throw error
            }
            for feed in feeds { feed.channel.close(promise: nil) }
            for try await failure in feeders {
                if let failure { throw ProgramError.inputFailed(failure) }
            }
            return termination
        }
        // Something the program started may keep a pipe open after it exits: stop at the deadline.
        let remaining = ContinuousClock.now.duration(to: deadline)
        let closer = group.next().scheduleTask(in: TimeAmount(max(remaining, .zero))) { [channels] in
            for channel in channels { channel.close(promise: nil) }
        }
        defer { closer.cancel() }
        return ProgramResult(termination: termination, output: try await output?.get(), error: try await error?.get(), processID: child.pid)
    }
}

extension SpawnProgramRunner {
    /// Writes `stream` into the pipe a chunk at a time, each write awaited: the program's reading
    /// paces us, and at most one chunk waits in memory. Returns why the input failed, if it did.
    ///
    /// A program may close its end or exit without reading everything: the write then fails with
    /// EPIPE (NIO ignores SIGPIPE process-wide when it opens a pipe channel), and what the program
    /// did is for its exit status to tell.
    static func feed(_ stream: ProgramInputStream, into channel: any Channel, child: RunningChild) async -> String? {
        do {
            for try await chunk in stream {
                do {
                    try await channel.writeAndFlush(ByteBuffer(bytes: chunk)).get()
                } catch {
                    channel.close(promise: nil)
                    return nil
                }
            }
        } catch {
            // Killed before the pipe closes: at end of file the program would take the truncated
            // input for a whole one (qmail-queue would queue half a message).
            if !child.reaped.load(ordering: .sequentiallyConsistent) {
                kill(-child.pid, SIGKILL)
                kill(child.pid, SIGKILL)
            }
            channel.close(promise: nil)
            return "\(error)"
        }
        channel.close(promise: nil)
        return nil
    }
}

/// The child a feeder may have to kill; once reaped its pid may belong to another process.
final class RunningChild: Sendable {
    let pid: pid_t
    let reaped = Atomic<Bool>(false)
    init(pid: pid_t) { self.pid = pid }
}

/// Hands the collector's future out of the channel initializer.
private final class CollectedFuture: Sendable {
    let future = Mutex<EventLoopFuture<[UInt8]>?>(nil)
}
