import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// Services with `dns` as the resolver, for `PluginHarness`.
func stubServices(_ dns: any DNSResolver) -> PluginServices {
    PluginServices(hostName: "mx.test.example", dns: dns)
}

/// A resolver that waits `delay` before asking `inner`, and gives up at the deadline as a real
/// one must; it records the deadlines it was given and how many lookups ran at once at most.
final class SlowResolver: DNSResolver {
    let inner: any DNSResolver
    let delay: Duration
    private let state = Mutex<(deadlines: [ContinuousClock.Instant], running: Int, mostAtOnce: Int)>(([], 0, 0))

    init(_ inner: any DNSResolver, delay: Duration) {
        self.inner = inner
        self.delay = delay
    }

    var deadlines: [ContinuousClock.Instant] { state.withLock { $0.deadlines } }
    var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }

    func lookup(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) async throws -> [DNSRecord] {
        state.withLock {
            $0.deadlines.append(deadline)
            $0.running += 1
            $0.mostAtOnce = max($0.mostAtOnce, $0.running)
        }
        defer { state.withLock { $0.running -= 1 } }
        let wakeUp = ContinuousClock.now + delay
        if wakeUp > deadline {
            try? await Task.sleep(until: deadline)
            throw DNSError.timeout
        }
        try await Task.sleep(until: wakeUp)
        return try await inner.lookup(name, type, deadline: deadline)
    }
}
