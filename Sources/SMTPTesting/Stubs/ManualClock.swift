public import SMTPPluginAPI
import Synchronization

/// A clock that moves only when the test says: `advance(by:)` wakes the sleepers whose time has come.
public final class ManualClock: PluginClock {
    private struct State {
        var now: WallTime
        var sleepers: [Int: (until: WallTime, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    /// Starts at 2026-01-01 00:00:00 UTC unless told otherwise.
    public init(start: WallTime = WallTime(secondsSinceEpoch: 1_767_225_600)) {
        state = Mutex(State(now: start))
    }

    public var now: WallTime { state.withLock { $0.now } }

    /// How many tasks are sleeping on this clock (lets a test wait until a plugin has gone to sleep).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now + duration
            let now = state.now
            let ready = state.sleepers.filter { $0.value.until <= now }
            for id in ready.keys { state.sleepers[id] = nil }
            return ready.map(\.value.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    public func sleep(for duration: Duration) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wake, cancel, wait }
                let step = state.withLock { state -> Now in
                    // Checked under the lock: a cancel either came before (seen here) or finds us in `sleepers`.
                    if Task.isCancelled { return .cancel }
                    let until = state.now + duration
                    if until <= state.now { return .wake }
                    state.sleepers[id] = (until, continuation)
                    return .wait
                }
                switch step {
                case .wake: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }
}
