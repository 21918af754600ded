import Synchronization

/// Mutable state a logging plugin's hooks share: plugins are values, and a Mutex cannot be
/// copied, so it lives in this class.
final class LockedState<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result, Failure: Error>(_ body: (inout sending Value) throws(Failure) -> sending Result) throws(Failure) -> sending Result {
        try mutex.withLock(body)
    }
}
