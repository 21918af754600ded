import SMTPPluginAPI
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// A resolver whose answers (from a `StubDNSResolver`) wait until the test opens the gate, so a
/// test can see which lookups were in flight at once, that a hook did not wait for them, and
/// what happens when they never come. Until opened, a lookup ends at its deadline (timeout) or
/// when its task is cancelled.
final class GatedDNSResolver: DNSResolver {
    let answers = StubDNSResolver()
    private let gate = PendingValue<Bool>()
    private let asked = Mutex<[String]>([])
    private let cancelled = Mutex(0)

    func open() { gate.fulfil(true) }

    /// Names asked so far, including those still waiting at the gate.
    var names: [String] { asked.withLock { $0 } }
    /// Lookups whose task was cancelled while they waited.
    var cancellations: Int { cancelled.withLock { $0 } }

    func lookup(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) async throws -> [DNSRecord] {
        asked.withLock { $0.append(name) }
        guard await gate.wait(until: deadline) != nil else {
            if Task.isCancelled {
                cancelled.withLock { $0 += 1 }
                throw CancellationError()
            }
            throw DNSError.timeout
        }
        return try await answers.lookup(name, type, deadline: deadline)
    }
}

enum DNSTest {
    static func services(_ dns: any DNSResolver) -> PluginServices {
        PluginServices(hostName: "mx.test.example", dns: dns)
    }

    /// Polls `condition` for up to two seconds: for work that goes on after a hook returned.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// Names `stub` was asked, in order.
    static func asked(_ stub: StubDNSResolver) -> [String] { stub.queries.map(\.name) }
}
