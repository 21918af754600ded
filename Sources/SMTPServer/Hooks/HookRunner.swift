import Logging
import SMTPCore
import SMTPPluginAPI
import Synchronization

/// How a hook's chain of plugins ended.
public enum HookOutcome: Sendable {
    /// Every plugin declined, or none is registered.
    case declined
    /// A plugin answered.
    case answered(HookResult, plugin: String)
    /// A plugin threw or overran its time; the command gets a 451.
    case failed(plugin: String, reason: String)

    public var result: HookResult? {
        if case .answered(let r, _) = self { return r }
        return nil
    }
}

/// Asks a hook's plugins in order until one answers something other than DECLINED (qpsmtpd's
/// `run_hooks`). A plugin that throws or does not answer in time cannot take the session down:
/// it is logged and the command fails with a 451.
public struct HookRunner: Sendable {
    public let registry: HookRegistry
    public let timeout: Duration
    public let logger: Logger

    public init(registry: HookRegistry, timeout: Duration, logger: Logger) {
        self.registry = registry
        self.timeout = timeout
        self.logger = logger
    }

    public func has(_ point: HookPoint) -> Bool { registry.has(point) }

    public func run(_ point: HookPoint, _ call: HookCall) async -> HookOutcome {
        let entries = registry.entries(for: point)
        if entries.isEmpty { return .declined }
        for entry in entries {
            let result: HookResult
            do {
                result = try await Self.withTimeout(timeout) { try await entry.handler(call) }
            } catch let error as HookTimedOut {
                logger.error("plugin \(entry.plugin) did not answer hook \(point.rawValue) within \(error.limit)", metadata: ["conn": "\(call.connection.id)"])
                return .failed(plugin: entry.plugin, reason: "timed out")
            } catch {
                logger.error("plugin \(entry.plugin) failed at hook \(point.rawValue): \(error)", metadata: ["conn": "\(call.connection.id)"])
                return .failed(plugin: entry.plugin, reason: "\(error)")
            }
            if point != .deny && point != .ok {
                await notifyObservers(of: result, from: entry.plugin, at: point, call)
            }
            if case .declined = result { continue }
            logger.debug("\(entry.plugin) answered \(result.name) at \(point.rawValue)\(result.message.map { ": \($0)" } ?? "")", metadata: ["conn": "\(call.connection.id)"])
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

    /// Races the work against a clock. The work runs in its own task so that even a plugin that
    /// ignores cancellation cannot hold the session past the limit; whichever side loses is cancelled.
    static func withTimeout<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let gate = Gate<T>()
        return try await withCheckedThrowingContinuation { continuation in
            gate.install(continuation)
            let worker = Task {
                let result: Result<T, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                gate.finish(result)
                gate.cancelTimer()
            }
            gate.setTimer(Task {
                do { try await Task.sleep(for: limit) } catch { return }
                if gate.finish(.failure(HookTimedOut(limit: limit))) { worker.cancel() }
            })
        }
    }

    /// Resumes a continuation exactly once, whichever side finishes first.
    final class Gate<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var finished = false
            var timer: Task<Void, Never>?
        }
        private let state = Mutex(State())

        func install(_ continuation: CheckedContinuation<T, any Error>) {
            state.withLock { $0.continuation = continuation }
        }

        func setTimer(_ timer: Task<Void, Never>) {
            let cancelNow = state.withLock { s in
                s.timer = timer
                return s.finished
            }
            if cancelNow { timer.cancel() }
        }

        func cancelTimer() {
            state.withLock { $0.timer }?.cancel()
        }

        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let continuation: CheckedContinuation<T, any Error>? = state.withLock { s in
                if s.finished { return nil }
                s.finished = true
                defer { s.continuation = nil }
                return s.continuation
            }
            continuation?.resume(with: result)
            return continuation != nil
        }
    }
}
