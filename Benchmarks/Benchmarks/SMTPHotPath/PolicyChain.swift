import Benchmark
import Foundation
import SMTPPluginAPI
import SMTPServices
import SMTPTesting

// What the policy chain of config.sample/plugins costs per message. Each iteration is one whole
// session on the bare session (no sockets): greeting, EHLO, MAIL, RCPT, a 2 KB message, QUIT.
// The first row runs only rcpt_ok and the queue; the others run the full MX chain, with DNS
// answered by a stub (so the figure is our CPU, not a resolver's latency) and state in memory or
// in the production SQLite store. The difference between rows is the chain's cost.

/// The MX chain of config.sample/plugins, every check on. `earlytalker wait 0`: its usual wait
/// is latency on purpose, not work.
private let fullChain = [
    "hosts_allow", "whitelist", "dns_whitelist_soft", "dnsbl", "earlytalker wait 0", "karma",
    "helo policy rfc", "fcrdns", "badmailfrom", "resolvable_fromhost", "rhsbl", "badrcptto",
    "greylisting black_timeout 0", "headers", "loop", "uribl action deny", "naughty",
]

private func chainConfig(_ plugins: [String]) -> [String: [String]] {
    [
        "plugins": plugins + ["rcpt_ok", "queue/discard"],
        "me": ["mx.bench.example"],
        "rcpthosts": ["bench.example"],
        "dnsbl_zones": ["zen.bl.example", "bl.bl.example"],
        "rhsbl_zones": ["dbl.bl.example"],
        "whitelist_zones": ["wl.bl.example"],
        "uribl_zones": ["multi.uribl.example"],
        "badmailfrom": ["spammer@bad.example", "@worse.example", "/^bounce-.*@/"],
        "badrcptto": ["nobody@bench.example", "/^sales[0-9]+@/"],
        "badhelo": ["localhost"],
    ]
}

/// Names the checks resolve; everything else is NXDOMAIN (not listed).
private func resolver() -> StubDNSResolver {
    let dns = StubDNSResolver()
    dns.set("mail.sender.example", .a, [.a("198.51.100.25")])
    dns.set("1.0.0.127.in-addr.arpa", .ptr, [.ptr("mail.sender.example")])
    dns.set("sender.example", .mx, [.mx(preference: 10, exchange: "mail.sender.example")])
    return dns
}

private func message() -> String {
    let date = DateFormatter.rfc5322.string(from: Date())
    var text = "From: Sender <someone@sender.example>\r\nTo: <user@bench.example>\r\nDate: \(date)\r\n"
        + "Subject: policy chain\r\nMessage-ID: <bench@sender.example>\r\n\r\nSee https://www.example.org/offer for more.\r\n"
    while text.utf8.count < 2048 { text += "A line of ordinary body text, long enough to be typical of mail.\r\n" }
    return text
}

/// One message session; stops the benchmark run loudly if the chain refuses anything.
private func session(_ environment: SMTPTestEnvironment, _ text: String) async throws {
    let client = try await SMTPTestClient.start(.session, environment: environment)
    try await client.greeting()
    try await client.ehlo("mail.sender.example")
    try await client.mail(from: "someone@sender.example").expect(250)
    try await client.rcpt(to: "user@bench.example").expect(250)
    try await client.data(text).expect(250)
    _ = try await client.quit()
    await client.close()
}

private extension DateFormatter {
    static let rfc5322: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter
    }()
}

let policyChainBenchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], maxDuration: .seconds(3), maxIterations: 20_000)
    let text = message()

    Benchmark("message session, rcpt_ok + queue only", configuration: config) { benchmark in
        let environment = try SMTPTestClient.environment(config: chainConfig([]))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try await session(environment, text) }
    }

    Benchmark("message session, full MX chain (17 checks), in-memory state", configuration: config) { benchmark in
        let environment = try SMTPTestClient.environment(config: chainConfig(fullChain), dns: resolver(), store: InMemoryStateStore())
        // The first try of the triplet is greylisted; the measured ones pass.
        try? await session(environment, text)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try await session(environment, text) }
    }

    Benchmark("message session, full MX chain (17 checks), SQLite state", configuration: config) { benchmark in
        let directory = NSTemporaryDirectory() + "qpsmtpd-bench-state-\(UUID().uuidString)"
        let store = try await SQLiteStateStore.open(directory: directory)
        let environment = try SMTPTestClient.environment(config: chainConfig(fullChain), dns: resolver(), store: store)
        try? await session(environment, text)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try await session(environment, text) }
        benchmark.stopMeasurement()
        try await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

