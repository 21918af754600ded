import Synchronization

/// Whether the client has sent bytes while the server held the turn: before the greeting, or
/// after a line whose reply it must wait for (DATA, AUTH, STARTTLS, RFC 2920 §3.1). Only clients
/// that dump a whole conversation without listening do that, which is what `earlytalker` looks
/// for. The engine's transport (the codec, or the test feed) reports the bytes; the turn passes
/// back to the client, and the fact is forgotten, when the server sends the greeting or the
/// reply that decides how reading goes on.
public final class OutOfTurnInput: Sendable {
    private struct State {
        var arrived = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// True when out-of-turn bytes have arrived since the server last gave the turn away.
    public var arrived: Bool { state.withLock { $0.arrived } }

    /// Waits until out-of-turn bytes arrive or `limit` passes (or the task is cancelled), and
    /// says whether they arrived. Returns at once when they already have.
    public func wait(upTo limit: Duration) async -> Bool {
        if arrived { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.arrival() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || arrived
        }
    }

    /// Suspends until `noteArrival`, or returns false when the task is cancelled first.
    private func arrival() async -> Bool {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow: Bool? = state.withLock { state in
                    if state.arrived { return true }
                    if Task.isCancelled { return false }
                    state.waiters[id] = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    /// The transport saw bytes while the server held the turn.
    package func noteArrival() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.arrived = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// The server gave the turn to the client (greeting, or the reply that resumes reading).
    package func turnPassedToClient() {
        state.withLock { $0.arrived = false }
    }
}
