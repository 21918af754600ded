public import Logging
public import NIOCore
public import NIOPosix
import SMTPCore
public import SMTPPluginAPI
import Synchronization

/// How a hook's chain of plugins ended.
public enum HookOutcome: Sendable {
    /// Every plugin declined, or none is registered.
    case declined
    /// A plugin answered.
    case answered(HookResult, plugin: String)
    /// A plugin threw, overran its time or was cancelled; the command gets a 451.
    case failed(plugin: String, reason: String)

    public var result: HookResult? {
        if case .answered(let r, _) = self { return r }
        return nil
    }
}

/// Asks a hook's plugins in order until one answers something other than DECLINED (qpsmtpd's
/// `run_hooks`), giving each a `HookContext`.
///
/// Synchronous handlers are called inline: no task, no hop off the session's event loop. An
/// asynchronous handler runs in a task of its own, raced against its deadline, with the
/// session's cancellation (shutdown past its grace, the client gone) forwarded to it. When the
/// deadline passes or the session is cancelled, the session goes on at once (451 for that
/// command) and the plugin's task is cancelled, so the services it awaits (DNS, sockets,
/// programs) stop. Structured concurrency cannot do the last part: a task group waits for a
/// child that ignores cancellation, so one plugin stuck in a blocking call would hold the
/// session and shutdown. That task is abandoned instead and ends on its own.
///
/// Where things run: the plugin's task on `pluginExecutor` (the daemon's thread pool), so a
/// plugin that blocks a thread stalls no session and does not starve Swift's cooperative pool;
/// the deadline on an event loop's timer, which a blocked pool cannot delay.
public struct HookRunner: Sendable {
    public let registry: HookRegistry
    /// `plugin_timeout`; a plugin's `timeout` argument overrides it.
    public let timeout: Duration
    public let logger: Logger
    public let services: PluginServices
    /// Where asynchronous plugin work runs; nil: Swift's global executor.
    public let pluginExecutor: (any TaskExecutor)?
    /// Where deadlines are timed.
    public let timers: any EventLoopGroup


    public init(
        registry: HookRegistry, timeout: Duration, logger: Logger, services: PluginServices = PluginServices(hostName: "localhost"),
        pluginExecutor: (any TaskExecutor)? = nil, timers: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.registry = registry
        self.timeout = timeout
        self.logger = logger
        self.services = services
        self.pluginExecutor = pluginExecutor
        self.timers = timers
    }

    public func has(_ point: HookPoint) -> Bool { registry.has(point) }

    public func run(_ point: HookPoint, _ call: HookCall) async -> HookOutcome {
        let entries = registry.entries(for: point)
        if entries.isEmpty { return .declined }
        for entry in entries {
            let limit = entry.policy.timeout ?? timeout
            let context = HookContext(
                connection: call.connection, transaction: call.transaction, hook: point, plugin: entry.plugin,
                deadline: .now + limit, services: services, policy: entry.policy, logger: entry.logger)
            let result: HookResult
            do {
                switch entry.handler {
                case .sync(let body):
                    result = try body(call, context)
                case .async(let body):
                    result = try await race(limit + SMTPLimits.defaults.pluginAbandonGrace) { try await body(call, context) }
                }
            } catch let error as HookTimedOut {
                logger.error("plugin \(entry.plugin) did not answer hook \(point.rawValue) within \(error.limit)", metadata: ["conn": "\(call.connection.id)"])
                return .failed(plugin: entry.plugin, reason: "timed out")
            } catch is CancellationError {
                logger.notice("plugin \(entry.plugin) at hook \(point.rawValue) cancelled: the session is ending", metadata: ["conn": "\(call.connection.id)"])
                return .failed(plugin: entry.plugin, reason: "cancelled")
            } catch {
                logger.error("plugin \(entry.plugin) failed at hook \(point.rawValue): \(error)", metadata: ["conn": "\(call.connection.id)"])
                return .failed(plugin: entry.plugin, reason: "\(error)")
            }
            if point != .deny && point != .ok {
                await notifyObservers(of: result, from: entry.plugin, at: point, call)
            }
            if case .declined = result { continue }
            if logger.logLevel <= .debug {
                logger.debug("\(entry.plugin) answered \(result.name) at \(point.rawValue)\(result.message.map { ": \($0)" } ?? "")", metadata: ["conn": "\(call.connection.id)"])
            }
            return .answered(result, plugin: entry.plugin)
        }
        return .declined
    }

    /// qpsmtpd's `deny` and `ok` hooks: told of every other hook's result.
    private func notifyObservers(of result: HookResult, from plugin: String, at point: HookPoint, _ call: HookCall) async {
        let observer: HookPoint = result.isDenial ? .deny : .ok
        guard registry.has(observer) else { return }
        var observed = call
        observed.payload = .verdict(HookVerdict(plugin: plugin, hook: point, result: result))
        _ = await run(observer, observed)
    }

    struct HookTimedOut: Error { var limit: Duration }

    /// Runs `work` in a task of its own and returns its result, or throws `HookTimedOut` after
    /// `limit`, or `CancellationError` as soon as the calling task is cancelled. In both failure
    /// cases the work's task is cancelled and left to finish by itself.
    func race<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let gate = Gate<T>()
        let executor = pluginExecutor
        let loop = timers.any()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard gate.install(continuation) else { return }
                gate.start(
                    worker: Task(executorPreference: executor) {
                        let result: Result<T, any Error>
                        do { result = .success(try await work()) } catch { result = .failure(error) }
                        gate.finish(result)
                    },
                    timer: loop.scheduleTask(in: TimeAmount(limit)) {
                        gate.finish(.failure(HookTimedOut(limit: limit)))
                    })
            }
        } onCancel: {
            gate.finish(.failure(CancellationError()))
        }
    }

    /// Resumes the caller exactly once, whichever of work, timer and cancellation comes first,
    /// and then cancels the other two.
    final class Gate<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var finished: Result<T, any Error>?
            var worker: Task<Void, Never>?
            var timer: Scheduled<Void>?
        }
        private let state = Mutex(State())

        /// False when the race was already decided (cancelled before it began): the
        /// continuation has been resumed and nothing must start.
        func install(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
            let early: Result<T, any Error>? = state.withLock { s in
                if let finished = s.finished { return finished }
                s.continuation = continuation
                return nil
            }
            if let early { continuation.resume(with: early) }
            return early == nil
        }

        func start(worker: Task<Void, Never>, timer: Scheduled<Void>) {
            let decided = state.withLock { s in
                s.worker = worker
                s.timer = timer
                return s.finished != nil
            }
            if decided {
                worker.cancel()
                timer.cancel()
            }
        }

        func finish(_ result: Result<T, any Error>) {
            let (continuation, worker, timer): (CheckedContinuation<T, any Error>?, Task<Void, Never>?, Scheduled<Void>?) = state.withLock { s in
                if s.finished != nil { return (nil, nil, nil) }
                s.finished = result
                defer { s.continuation = nil }
                return (s.continuation, s.worker, s.timer)
            }
            continuation?.resume(with: result)
            worker?.cancel()
            timer?.cancel()
        }
    }
}
