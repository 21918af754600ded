import NIOCore
import Testing

@testable import SMTPServer

/// The arithmetic of the per-line and per-message deadlines (the codec's timer only asks it).
@Suite struct ClientDeadlineTests {
    private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    private func deadline(command: Int64 = 10, stress: Int64 = 2, rate: Int = 100, stressed: Bool = false) -> ClientDeadline {
        let timeouts = ClientTimeouts(command: .seconds(command), stress: .seconds(stress), minDataRate: rate, isUnderStress: { stressed })
        return ClientDeadline(timeouts: timeouts, now: t0)
    }

    @Test func aCommandLineMustArriveWholeWithinTheTimeout() {
        let d = deadline()
        #expect(d.expired(at: t0 + .seconds(9)) == nil)
        // Bytes that do not finish a line do not move the deadline: only the codec's
        // expectCommand (a whole line, or our reply) does.
        #expect(d.expired(at: t0 + .seconds(10)) == .command)
    }

    @Test func theClockIsOursWhileWeOweAReply() {
        var d = deadline()
        d.serverOwesReply = true
        #expect(d.expired(at: t0 + .seconds(100)) == nil)
        d.serverOwesReply = false
        d.expectCommand(now: t0 + .seconds(100))
        #expect(d.expired(at: t0 + .seconds(109)) == nil)
        #expect(d.expired(at: t0 + .seconds(110)) == .command)
    }

    @Test func stressShortensTheTimeout() {
        let d = deadline(stressed: true)
        #expect(d.expired(at: t0 + .seconds(1)) == nil)
        #expect(d.expired(at: t0 + .seconds(2)) == .command)
    }

    @Test func aMessageGetsGracePlusTimeForWhatItSent() {
        var d = deadline(command: 10, rate: 100)
        d.expectMessage(now: t0)
        // 100 octets a second for 30 s: 3,000 octets earn 30 s on top of the 10 s grace.
        for second in 1...30 { d.messageProgress(octets: 100, now: t0 + .seconds(Int64(second))) }
        #expect(d.expiry == t0 + .seconds(40))
        #expect(d.expired(at: t0 + .seconds(39)) == nil)
        #expect(d.expired(at: t0 + .seconds(40)) == .message)
    }

    @Test func aDribbleRunsOutOfTimeWhileStillSending() {
        var d = deadline(command: 10, rate: 100)
        d.expectMessage(now: t0)
        // One octet a second: never idle for the timeout, yet the message is cut off after ~10 s.
        var expiredAt: Int?
        for second in 1...60 {
            let now = t0 + .seconds(Int64(second))
            if d.expired(at: now) != nil { expiredAt = second; break }
            d.messageProgress(octets: 1, now: now)
        }
        #expect(expiredAt == 11)
    }

    @Test func aStalledMessageTimesOutAfterTheTimeoutEvenWithCredit() {
        var d = deadline(command: 10, rate: 100)
        d.expectMessage(now: t0)
        d.messageProgress(octets: 1_000_000, now: t0 + .seconds(1))
        #expect(d.expired(at: t0 + .seconds(10)) == nil)
        #expect(d.expired(at: t0 + .seconds(11)) == .message)
    }

    @Test func rateZeroLeavesOnlyTheStallLimit() {
        var d = deadline(command: 10, rate: 0)
        d.expectMessage(now: t0)
        for second in 1...100 { d.messageProgress(octets: 1, now: t0 + .seconds(Int64(second))) }
        #expect(d.expired(at: t0 + .seconds(109)) == nil)
        #expect(d.expired(at: t0 + .seconds(110)) == .message)
    }
}

@Suite struct AuthFailureTrackerTests {
    private let limits = AuthFailureTracker.Limits(perAddress: 3, perAccount: 5)

    @Test func attemptsInFlightCountAgainstTheAddressLimit() throws {
        let tracker = AuthFailureTracker()
        // Three slow checks start before any has failed: the fourth is refused at once.
        var tickets: [AuthFailureTracker.Ticket] = []
        for n in 0..<3 { tickets.append(try tracker.begin(address: "192.0.2.1", account: "u\(n)", limits: limits).get()) }
        #expect(tracker.isBlocked(address: "192.0.2.1", limits: limits))
        guard case .failure(.address) = tracker.begin(address: "192.0.2.1", account: "x", limits: limits) else {
            Issue.record("a fourth parallel attempt was admitted")
            return
        }
        // Successes free their slots; failures keep them for the window.
        tracker.finish(tickets[0], failed: false)
        #expect(!tracker.isBlocked(address: "192.0.2.1", limits: limits))
        tracker.finish(tickets[1], failed: true)
        tracker.finish(tickets[2], failed: true)
        #expect(tracker.recentFailures(address: "192.0.2.1") == 2)
        #expect(!tracker.isBlocked(address: "192.0.2.1", limits: limits))
        let t = try tracker.begin(address: "192.0.2.1", account: "x", limits: limits).get()
        tracker.finish(t, failed: true)
        #expect(tracker.isBlocked(address: "192.0.2.1", limits: limits))
        #expect(!tracker.isBlocked(address: "192.0.2.2", limits: limits))
    }

    @Test func oneAccountGuessedFromManyAddresses() throws {
        let tracker = AuthFailureTracker()
        for n in 1...5 {
            let t = try tracker.begin(address: "198.51.100.\(n)", account: "Joe@Example.org", limits: limits).get()
            tracker.finish(t, failed: true)
        }
        // Case does not matter, nor a fresh address.
        guard case .failure(.account) = tracker.begin(address: "203.0.113.9", account: "joe@example.org", limits: limits) else {
            Issue.record("the account limit did not hold")
            return
        }
        #expect(throws: Never.self) { try tracker.begin(address: "203.0.113.9", account: "ann@example.org", limits: limits).get() }
    }

    @Test func windowForgets() async throws {
        let tracker = AuthFailureTracker(window: .milliseconds(100))
        let t = try tracker.begin(address: "a", account: "u", limits: .init(perAddress: 1, perAccount: 0)).get()
        tracker.finish(t, failed: true)
        #expect(tracker.isBlocked(address: "a", limits: .init(perAddress: 1, perAccount: 0)))
        try await Task.sleep(for: .milliseconds(150))
        #expect(!tracker.isBlocked(address: "a", limits: .init(perAddress: 1, perAccount: 0)))
    }

    @Test func memoryIsBoundedByCapacity() throws {
        // Full of failures from other addresses: the oldest knowledge goes, the newest stays.
        let tracker = AuthFailureTracker(capacity: 10)
        let limits = AuthFailureTracker.Limits(perAddress: 1, perAccount: 0)
        for n in 0..<30 { tracker.finish(try tracker.begin(address: "198.51.100.\(n)", account: "u\(n)", limits: limits).get(), failed: true) }
        let remembered = (0..<30).filter { tracker.recentFailures(address: "198.51.100.\($0)") > 0 }
        #expect(remembered.count <= 10)
        #expect(remembered.contains(29))
    }

    @Test func zeroMeansNoLimit() throws {
        let tracker = AuthFailureTracker()
        let none = AuthFailureTracker.Limits(perAddress: 0, perAccount: 0)
        for _ in 0..<50 { tracker.finish(try tracker.begin(address: "a", account: "u", limits: none).get(), failed: true) }
        #expect(!tracker.isBlocked(address: "a", limits: none))
    }
}
