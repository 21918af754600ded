import Benchmark
import SMTPPluginAPI
import SMTPServer

// What one plugin call costs the session: a synchronous handler is called inline; an
// asynchronous one gets a task and a deadline timer. Each iteration is one hook run with one
// plugin that declines.

private func runner(_ handler: HookRegistry.Handler) -> HookRunner {
    var registry = HookRegistry()
    registry.registrant.name = "bench"
    registry.register(.noop, handler)
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    return HookRunner(registry: registry, timeout: .seconds(60), logger: logger)
}

let hookCallBenchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], maxDuration: .seconds(2), maxIterations: 200_000)
    let call = HookCall(connection: Connection(id: "bench", remoteIP: "127.0.0.1", remotePort: 1, localIP: "127.0.0.1", localPort: 25), transaction: nil)

    let sync = runner(.sync { _, _ in .declined })
    Benchmark("hook call, 1 sync plugin", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(await sync.run(.noop, call)) }
    }

    let async = runner(.async { _, _ in .declined })
    Benchmark("hook call, 1 async plugin", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(await async.run(.noop, call)) }
    }
}
