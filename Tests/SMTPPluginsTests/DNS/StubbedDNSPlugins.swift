import SMTPCore
import SMTPDaemon
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

/// Test plugins that run a built-in DNS plugin with a `StubDNSResolver` inside a real session, so
/// a test sees the reply on the wire: `fcrdns stub N reject 1` under the name `test/dns/fcrdns`.
/// The stub is found by number, as `test/capture` finds its capture.
enum StubbedDNS {
    private static let registry = Mutex<(next: Int, live: [Int: StubDNSResolver])>((0, [:]))

    /// Registers `stub` and returns its number; `forget` when the test ends.
    static func register(_ stub: StubDNSResolver) -> Int {
        registry.withLock {
            $0.next += 1
            $0.live[$0.next] = stub
            return $0.next
        }
    }

    static func forget(_ id: Int) { _ = registry.withLock { $0.live.removeValue(forKey: id) } }

    static func stub(_ id: Int) -> StubDNSResolver? { registry.withLock { $0.live[id] } }

    /// The testing registry plus `test/dns/<name>` for each DNS plugin.
    static var plugins: PluginRegistry {
        var registry = PluginRegistry.testing
        registry.register(Wrapper<FCrDNS>.self, as: "test/dns/fcrdns")
        registry.register(Wrapper<Helo>.self, as: "test/dns/helo")
        registry.register(Wrapper<URIBL>.self, as: "test/dns/uribl")
        return registry
    }

    /// Builds `Inner` from the line without `stub N`, and hands each of its hooks a context whose
    /// resolver is the stub.
    struct Wrapper<Inner: SMTPPlugin>: SMTPPlugin {
        let inner: Inner
        let dns: StubDNSResolver

        init(context: PluginContext) throws {
            var words = context.arguments.words
            guard let at = words.firstIndex(of: "stub"), at + 1 < words.count, let id = Int(words[at + 1]), let stub = StubbedDNS.stub(id) else {
                throw PluginArgumentError("test/dns plugins need 'stub N'")
            }
            words.removeSubrange(at...(at + 1))
            var innerContext = context
            innerContext.arguments = PluginArguments(words)
            inner = try Inner(context: innerContext)
            dns = stub
        }

        func register(into hooks: inout HookRegistry) {
            var own = HookRegistry()
            own.registrant = hooks.registrant
            inner.register(into: &own)
            let dns = dns
            for point in HookPoint.allCases {
                for entry in own.entries(for: point) {
                    switch entry.handler {
                    case .sync(let body):
                        hooks.register(point, .sync { call, context in try body(call, context.using(dns)) })
                    case .async(let body):
                        hooks.register(point, .async { call, context in try await body(call, context.using(dns)) })
                    }
                }
            }
        }
    }
}

extension HookContext {
    /// The same call with `dns` as the resolver.
    func using(_ dns: any DNSResolver) -> HookContext {
        var services = services
        services.dns = dns
        return HookContext(
            connection: connection, transaction: transaction, hook: hook, plugin: plugin, deadline: deadline,
            services: services, policy: policy, logger: logger)
    }
}
