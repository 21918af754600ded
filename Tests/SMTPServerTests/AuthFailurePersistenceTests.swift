import SMTPPluginAPI
import SMTPServer
import SMTPTesting
import Testing

/// AUTH failures kept in the state store outlive the tracker (the process) that counted them.
@Suite struct AuthFailurePersistenceTests {
    private let limits = AuthFailureTracker.Limits(perAddress: 2, perAccount: 3)

    private func waitForStored(_ store: any StateStore, _ key: String, count: Int) async throws {
        for _ in 0..<200 {
            if let text = try await store.get(key), text.split(separator: " ").count == count { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("\(key) never held \(count) failures")
    }

    @Test func failuresSurviveARestart() async throws {
        let clock = ManualClock()
        let store = InMemoryStateStore(clock: clock)
        let before = AuthFailureTracker(window: .seconds(600), store: store, wallClock: clock)
        for _ in 0..<2 {
            before.finish(try before.begin(address: "192.0.2.7", account: "Joe", limits: limits).get(), failed: true)
        }
        try await waitForStored(store, "auth_failures:address:192.0.2.7", count: 2)
        try await waitForStored(store, "auth_failures:account:joe", count: 2)

        clock.advance(by: .seconds(60))
        let after = AuthFailureTracker(window: .seconds(600), store: store, wallClock: clock)
        #expect(!after.isBlocked(address: "192.0.2.7", limits: limits))  // not recalled yet
        await after.recall(address: "192.0.2.7", account: "JOE")
        #expect(after.recentFailures(address: "192.0.2.7") == 2)
        #expect(after.isBlocked(address: "192.0.2.7", limits: limits))
        // The account's two failures plus a third from elsewhere reach its limit of three.
        await after.recall(address: "198.51.100.1", account: "joe")
        after.finish(try after.begin(address: "198.51.100.1", account: "joe", limits: limits).get(), failed: true)
        guard case .failure(.account) = after.begin(address: "203.0.113.1", account: "joe", limits: limits) else {
            Issue.record("the recalled account failures did not count")
            return
        }
        // Recalling again adds nothing twice.
        await after.recall(address: "192.0.2.7", account: "joe")
        #expect(after.recentFailures(address: "192.0.2.7") == 2)
    }

    @Test func failuresOlderThanTheWindowAreNotRecalled() async throws {
        let clock = ManualClock()
        let store = InMemoryStateStore(clock: clock)
        let before = AuthFailureTracker(window: .seconds(600), store: store, wallClock: clock)
        before.finish(try before.begin(address: "192.0.2.8", account: "ann", limits: limits).get(), failed: true)
        try await waitForStored(store, "auth_failures:address:192.0.2.8", count: 1)
        clock.advance(by: .seconds(601))
        let after = AuthFailureTracker(window: .seconds(600), store: store, wallClock: clock)
        await after.recall(address: "192.0.2.8", account: "ann")
        #expect(after.recentFailures(address: "192.0.2.8") == 0)
    }

    @Test func withoutAStoreNothingIsRecalled() async throws {
        let tracker = AuthFailureTracker()
        await tracker.recall(address: "192.0.2.9", account: "x")
        #expect(tracker.recentFailures(address: "192.0.2.9") == 0)
    }
}
