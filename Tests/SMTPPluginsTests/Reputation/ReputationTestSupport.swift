import SMTPPluginAPI
import SMTPTesting

/// Services for the stateful plugins: a manual clock and an in-memory store on that clock.
struct ReputationServices {
    let clock = ManualClock()
    let store: InMemoryStateStore
    var services: PluginServices { PluginServices(hostName: "mx.test.example", store: store, clock: clock) }

    init() { store = InMemoryStateStore(clock: clock) }
}

/// A store whose every call fails, as a broken disk would.
struct FailingStateStore: StateStore {
    struct Broken: Error {}
    func get(_ key: String) async throws -> String? { throw Broken() }
    func set(_ key: String, _ value: String, expiresAfter: Duration?) async throws { throw Broken() }
    func increment(_ key: String, by delta: Int, expiresAfter: Duration?) async throws -> Int { throw Broken() }
    func remove(_ key: String) async throws { throw Broken() }
}
