public import SMTPPluginAPI
import Synchronization

/// A value some background work produces once. Any number of hooks may wait for it, each only
/// until its own deadline: the work goes on when a waiter gives up, so a later hook can still
/// collect the answer.
public final class PendingValue<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        var lastWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The value, once produced.
    public var value: Value? { state.withLock { $0.value } }

    /// Stores the value (the first one only) and wakes every waiter.
    public func fulfil(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, or nil when `deadline` passes or the waiting task is cancelled first.
    public func wait(until deadline: ContinuousClock.Instant) async -> Value? {
        if let value { return value }
        return await withTaskGroup(of: Value?.self) { group in
            group.addTask { await self.waitUnlessCancelled() }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            // Whichever lost is cancelled: a sleep ends at once, a waiter is resumed with nil.
            group.cancelAll()
            return first
        }
    }

    private func waitUnlessCancelled() async -> Value? {
        let id = state.withLock { state -> UInt64 in
            state.lastWaiter += 1
            return state.lastWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                // Decided under the lock, so neither fulfil nor cancellation can slip in between.
                let now: Value?? = state.withLock { state in
                    if let value = state.value { return .some(value) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}

/// Background work a plugin starts at one hook and collects at a later one, kept in a connection
/// note so every hook of the session finds it — qpsmtpd's DNS plugins send their queries at
/// connect and read the answers at the first RCPT. The work runs in a task of its own (a hook
/// that returns does not end it) and is cancelled at disconnect.
///
///     static let lookups = ConnectionLookup<Bool>("whitelist_lookups")
///     hooks.onConnect { context in
///         Self.lookups.start(on: context.connection) { await isListed(deadline: context.deadline) }
///         return .declined
///     }
///     hooks.onRcpt { context, _, _, _ in
///         if case .finished(true) = await Self.lookups.result(on: context.connection, until: context.lookupDeadline(within: nil)) { … }
///     }
///     hooks.onDisconnect { context in Self.lookups.cancel(on: context.connection); return .declined }
public struct ConnectionLookup<Value: Sendable>: Sendable {
    /// The work in flight and the value it will give.
    public final class Running: Sendable {
        let task: Task<Void, Never>
        public let result: PendingValue<Value>

        init(task: Task<Void, Never>, result: PendingValue<Value>) {
            self.task = task
            self.result = result
        }
    }

    /// What a hook that asked for the result got.
    public enum Outcome {
        /// Nothing was started on this connection (or it was cancelled since).
        case notStarted
        case finished(Value)
        /// Still running when the waiter's deadline passed.
        case unfinished
    }

    public let note: NoteKey<Running>

    /// `name` is the connection note that holds the work (`dnsbl_lookups`).
    public init(_ name: String) { note = NoteKey(name) }

    /// Starts `work` for this connection, replacing (and cancelling) any earlier one.
    @discardableResult
    public func start(on connection: Connection, _ work: @escaping @Sendable () async -> Value) -> Running {
        let result = PendingValue<Value>()
        let running = Running(task: Task { result.fulfil(await work()) }, result: result)
        let previous = connection[note: note]
        connection[note: note] = running
        previous?.task.cancel()
        return running
    }

    public func isStarted(on connection: Connection) -> Bool { connection[note: note] != nil }

    /// Waits for the result until `deadline` (`context.lookupDeadline(within:)`, which leaves the
    /// hook time to answer).
    public func result(on connection: Connection, until deadline: ContinuousClock.Instant) async -> Outcome {
        guard let running = connection[note: note] else { return .notStarted }
        if let value = await running.result.wait(until: deadline) { return .finished(value) }
        return .unfinished
    }

    /// Cancels the work and forgets it (disconnect, or once a hook has decided).
    public func cancel(on connection: Connection) {
        let running = connection[note: note]
        connection[note: note] = nil
        running?.task.cancel()
    }
}
