import SMTPPluginAPI
import SMTPTesting
import Testing

@Suite struct StateStoreTests {
    @Test func setGetRemove() async throws {
        let store = InMemoryStateStore(clock: ManualClock())
        #expect(try await store.get("greylist:a") == nil)
        try await store.set("greylist:a", "first-seen")
        #expect(try await store.get("greylist:a") == "first-seen")
        try await store.remove("greylist:a")
        #expect(try await store.get("greylist:a") == nil)
    }

    @Test func entriesExpire() async throws {
        let clock = ManualClock()
        let store = InMemoryStateStore(clock: clock)
        try await store.set("k", "v", expiresAfter: .seconds(60))
        clock.advance(by: .seconds(59))
        #expect(try await store.get("k") == "v")
        clock.advance(by: .seconds(1))
        #expect(try await store.get("k") == nil)
    }

    @Test func countersKeepTheirExpiryUnlessGivenOne() async throws {
        let clock = ManualClock()
        let store = InMemoryStateStore(clock: clock)
        #expect(try await store.increment("karma:192.0.2.1", by: 1, expiresAfter: .seconds(100)) == 1)
        clock.advance(by: .seconds(50))
        #expect(try await store.increment("karma:192.0.2.1", by: -3) == -2)
        clock.advance(by: .seconds(50))
        // Expired with the expiry the first increment set: counting starts over.
        #expect(try await store.increment("karma:192.0.2.1") == 1)
        try await store.set("text", "abc")
        #expect(try await store.increment("text", by: 5) == 5)
    }

    @Test func boundedStoreEvictsSoonestExpiring() async throws {
        let clock = ManualClock()
        let store = InMemoryStateStore(capacity: 10, clock: clock)
        for i in 0..<10 { try await store.set("k\(i)", "v", expiresAfter: .seconds(100 + i)) }
        try await store.set("kept-forever", "v")
        #expect(store.count <= 10)
        #expect(try await store.get("k0") == nil)
        #expect(try await store.get("k9") == "v")
        #expect(try await store.get("kept-forever") == "v")
        // Expired entries are the first to go.
        clock.advance(by: .seconds(105))
        try await store.set("new", "v")
        #expect(store.count == 6)
    }
}

@Suite struct ManualClockTests {
    @Test func sleepersWakeWhenTimeComes() async throws {
        let clock = ManualClock()
        let start = clock.now
        let sleeper = Task { try await clock.sleep(for: .seconds(300)) }
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(299))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(clock.now - start == .seconds(300))
    }

    @Test func cancellingASleeper() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(300)) }
        while clock.sleeperCount == 0 { await Task.yield() }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }
}
