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

        let termination = try await ChildReaper.wait(for: child.pid, deadline: deadline)
        // Something the program started may keep a pipe open after it exits: stop at the deadline.
        let remaining = ContinuousClock.now.duration(to: deadline)
        let closer = group.next().scheduleTask(in: TimeAmount(max(remaining, .zero))) { [channels] in
            for channel in channels { channel.close(promise: nil) }
        }
        defer { closer.cancel() }
        return ProgramResult(termination: termination, output: try await output?.get(), error: try await error?.get())
    }
}

/// Hands the collector's future out of the channel initializer.
private final class CollectedFuture: Sendable {
    let future = Mutex<EventLoopFuture<[UInt8]>?>(nil)
}
