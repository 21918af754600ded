import SMTPServer
import Testing

@Suite struct ConnectionLimiterTests {
    private func take(_ limiter: ConnectionLimiter, _ ip: String, enforcing: Bool = true) -> String {
        let (refusal, count) = limiter.acquire(ip, enforcingPerAddressLimit: enforcing)
        return refusal.map { "\($0) at \(count)" } ?? "open \(count)"
    }

    @Test func countsPerAddressInTheSameStep() {
        let limiter = ConnectionLimiter(maxConnections: 0, maxPerIP: 2)
        #expect(take(limiter, "192.0.2.1") == "open 1")
        #expect(take(limiter, "192.0.2.1") == "open 2")
        #expect(take(limiter, "192.0.2.1") == "tooManyFromAddress at 2")
        #expect(take(limiter, "192.0.2.2") == "open 1")
        limiter.release("192.0.2.1")
        #expect(limiter.acquire("192.0.2.1") == nil)
    }

    /// A plugin enforcing the per-address limit (hosts_allow) gets the count instead of a refusal;
    /// the total still holds.
    @Test func perAddressLimitLeftToAPlugin() {
        let limiter = ConnectionLimiter(maxConnections: 4, maxPerIP: 1)
        for expected in 1...4 {
            #expect(take(limiter, "192.0.2.1", enforcing: false) == "open \(expected)")
        }
        #expect(take(limiter, "192.0.2.1", enforcing: false) == "tooManyConnections at 4")
        #expect(limiter.openConnections == 4)
    }
}
