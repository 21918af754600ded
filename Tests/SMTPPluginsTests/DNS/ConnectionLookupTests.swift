import SMTPPluginAPI
import Synchronization
import Testing

@testable import SMTPPlugins

@Suite struct PendingValueTests {
    @Test func everyWaiterGetsTheValue() async throws {
        let pending = PendingValue<Int>()
        async let first = pending.wait(until: .now + .seconds(5))
        async let second = pending.wait(until: .now + .seconds(5))
        try await Task.sleep(for: .milliseconds(50))
        pending.fulfil(7)
        pending.fulfil(8)  // only the first value counts
        #expect(await first == 7)
        #expect(await second == 7)
        #expect(await pending.wait(until: .now) == 7)
    }

    @Test func aWaiterGivesUpAtItsDeadlineAndALaterOneStillGetsTheValue() async throws {
        let pending = PendingValue<String>()
        let start = ContinuousClock.now
        #expect(await pending.wait(until: .now + .milliseconds(100)) == nil)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(100) && waited < .seconds(2))
        pending.fulfil("late")
        #expect(await pending.wait(until: .now + .milliseconds(100)) == "late")
    }

    @Test func aCancelledWaiterReturnsAtOnce() async throws {
        let pending = PendingValue<Int>()
        let waiter = Task { await pending.wait(until: .now + .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        waiter.cancel()
        #expect(await waiter.value == nil)
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}

@Suite struct ConnectionLookupTests {
    private let lookup = ConnectionLookup<Int>("test_lookups")

    private func connection() -> Connection {
        Connection(id: "t", remoteIP: "192.0.2.1", remotePort: 1, localIP: "192.0.2.2", localPort: 25)
    }

    @Test func aLaterHookCollectsWhatAnEarlierOneStarted() async throws {
        let connection = connection()
        guard case .notStarted = await lookup.result(on: connection, until: .now) else { Issue.record("started?"); return }
        let gate = PendingValue<Int>()
        lookup.start(on: connection) { await gate.wait(until: .now + .seconds(5)) ?? -1 }
        guard case .unfinished = await lookup.result(on: connection, until: .now + .milliseconds(50)) else {
            Issue.record("finished before the gate opened")
            return
        }
        gate.fulfil(42)
        guard case .finished(let value) = await lookup.result(on: connection, until: .now + .seconds(5)) else {
            Issue.record("not finished")
            return
        }
        #expect(value == 42)
    }

    @Test func cancelEndsTheWorkAndForgetsIt() async throws {
        let connection = connection()
        let sawCancel = Mutex(false)
        let running = lookup.start(on: connection) {
            try? await Task.sleep(for: .seconds(30))
            sawCancel.withLock { $0 = Task.isCancelled }
            return 0
        }
        lookup.cancel(on: connection)
        #expect(!lookup.isStarted(on: connection))
        #expect(await running.result.wait(until: .now + .seconds(5)) == 0)
        #expect(sawCancel.withLock { $0 })
    }

    @Test func startingAgainCancelsTheEarlierWork() async throws {
        let connection = connection()
        let first = lookup.start(on: connection) {
            try? await Task.sleep(for: .seconds(30))
            return Task.isCancelled ? -1 : 1
        }
        lookup.start(on: connection) { 2 }
        #expect(await first.result.wait(until: .now + .seconds(5)) == -1)
        guard case .finished(2) = await lookup.result(on: connection, until: .now + .seconds(5)) else {
            Issue.record("the second work's value")
            return
        }
    }
}
