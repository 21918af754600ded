import NIOCore
import SMTPPluginAPI
import Synchronization

/// What the peer sent and how the stream ended, shared between the channel handler (event loop)
/// and the task reading the connection. The reader states what it needs as a closure over the
/// state; when that cannot be satisfied yet it waits for the next event.
final class InboundBytes: Sendable {
    struct State {
        var bytes: [UInt8] = []
        /// Bytes before this index are consumed (compacted now and then, not on every read).
        var start = 0
        var ended = false
        var failure: (any Error)?
        var tlsEstablished = false
        /// Bumped on every event, so a reader that found nothing cannot miss one that came since.
        var generation = 0
        var waiter: CheckedContinuation<Void, Never>?

        var available: Int { bytes.count - start }

        mutating func take(_ count: Int) -> [UInt8] {
            let out = Array(bytes[start..<(start + count)])
            start += count
            if start == bytes.count {
                bytes.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 65_536 && start > bytes.count / 2 {
                bytes.removeFirst(start)
                start = 0
            }
            return out
        }

        /// Throws why the stream ended, when it has.
        func checkEnded() throws {
            if let failure { throw failure }
            if ended { throw OutboundError.closed }
        }
    }

    /// Unread bytes beyond this close the connection: plugins speak request/response protocols,
    /// so a peer that sends this much unasked is broken or hostile.
    static let maximumUnread = 8 << 20

    private let state = Mutex(State())

    func append(_ bytes: ByteBuffer) -> Bool {
        event { state in
            state.bytes.append(contentsOf: bytes.readableBytesView)
            return state.available <= Self.maximumUnread
        }
    }

    func end(_ error: (any Error)?) {
        event { state in
            if state.failure == nil, let error { state.failure = error }
            state.ended = true
        }
    }

    func tlsEstablished() {
        event { $0.tlsEstablished = true }
    }

    /// Drops unread bytes: what arrived in clear before TLS must not be read as if it came
    /// through TLS (the STARTTLS injection attack, from the client's side).
    func discardUnread() {
        state.withLock { state in
            state.bytes.removeAll()
            state.start = 0
        }
    }

    private func event<R>(_ change: (inout State) -> R) -> R {
        let (result, waiter) = state.withLock { state -> (R, CheckedContinuation<Void, Never>?) in
            let result = change(&state)
            state.generation &+= 1
            let waiter = state.waiter
            state.waiter = nil
            return (result, waiter)
        }
        waiter?.resume()
        return result
    }

    /// Calls `attempt` until it returns a value or throws, waiting for an event between calls.
    func wait<R: Sendable>(_ attempt: (inout State) throws -> R?) async throws -> R {
        while true {
            let (found, generation) = try state.withLock { state in (try attempt(&state), state.generation) }
            if let found { return found }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
