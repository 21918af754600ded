#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Testing

@Suite struct SQLiteStateStoreTests {
    private func freshDirectory() -> String {
        TemporaryDirectory.make(prefix: "state") + "/state"
    }

    @Test func setGetRemoveAndTheDirectoryIsPrivate() async throws {
        let directory = freshDirectory()
        let store = try await SQLiteStateStore.open(directory: directory, clock: ManualClock())
        #expect(try await store.get("greylist:a") == nil)
        try await store.set("greylist:a", "first-seen")
        #expect(try await store.get("greylist:a") == "first-seen")
        try await store.set("greylist:a", "again")
        #expect(try await store.get("greylist:a") == "again")
        try await store.remove("greylist:a")
        #expect(try await store.get("greylist:a") == nil)
        try await store.close()
        var info = stat()
        #expect(stat(directory, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        #expect(stat(directory + "/state.sqlite", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func expiredEntriesAreGoneAndPruned() async throws {
        let clock = ManualClock()
        let store = try await SQLiteStateStore.open(directory: freshDirectory(), clock: clock, pruneInterval: .seconds(300))
        try await store.set("short", "v", expiresAfter: .seconds(60))
        try await store.set("long", "v", expiresAfter: .seconds(3600))
        try await store.set("forever", "v")
        clock.advance(by: .seconds(59))
        #expect(try await store.get("short") == "v")
        clock.advance(by: .seconds(1))
        #expect(try await store.get("short") == nil)
        // Still on disk until a prune is due...
        #expect(try await store.rowCount() == 3)
        // ...which the first write after the interval does.
        clock.advance(by: .seconds(300))
        try await store.set("other", "v")
        #expect(try await store.rowCount() == 3)
        clock.advance(by: .seconds(3600))
        #expect(try await store.prune() == 1)  // "long"; "short" went with the write
        #expect(try await store.get("forever") == "v")
        try await store.close()
    }

    @Test func countersMatchTheInMemoryStore() async throws {
        let clock = ManualClock()
        let store = try await SQLiteStateStore.open(directory: freshDirectory(), clock: clock)
        #expect(try await store.increment("karma:192.0.2.1", by: 1, expiresAfter: .seconds(100)) == 1)
        clock.advance(by: .seconds(50))
        #expect(try await store.increment("karma:192.0.2.1", by: -3) == -2)
        #expect(try await store.get("karma:192.0.2.1") == "-2")
        clock.advance(by: .seconds(50))
        // Expired with the expiry the first increment set: counting starts over, with no expiry.
        #expect(try await store.increment("karma:192.0.2.1") == 1)
        clock.advance(by: .seconds(1000))
        #expect(try await store.get("karma:192.0.2.1") == "1")
        try await store.set("text", "abc")
        #expect(try await store.increment("text", by: 5) == 5)
        try await store.close()
    }

    /// Four threads are the daemon's choice, one is measured beside it (the figures are printed).
    @Test(arguments: [1, 4])
    func manyConcurrentIncrementsLoseNothing(threads: Int) async throws {
        let store = try await SQLiteStateStore.open(directory: freshDirectory(), threads: threads)
        let tasks = 50, each = 40
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for _ in 0..<each {
                        _ = try await store.increment("shared", by: 1, expiresAfter: .seconds(3600))
                        _ = try await store.increment("own:\(task)", by: 2, expiresAfter: nil)
                        _ = try await store.get("shared")
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        #expect(try await store.get("shared") == String(tasks * each))
        for task in 0..<tasks { #expect(try await store.get("own:\(task)") == String(2 * each)) }
        print("SQLiteStateStore (\(threads) thread(s)): \(tasks * each * 3) operations from \(tasks) tasks in \(elapsed)")
        try await store.close()
    }

    @Test func stateSurvivesCloseAndReopen() async throws {
        let directory = freshDirectory()
        let clock = ManualClock()
        let first = try await SQLiteStateStore.open(directory: directory, clock: clock)
        try await first.set("greylist:192.0.2.1", "1700000000:1:0:0", expiresAfter: .seconds(3600))
        _ = try await first.increment("karma:naughty:192.0.2.1", by: 2)
        try await first.close()

        let second = try await SQLiteStateStore.open(directory: directory, clock: clock)
        #expect(try await second.get("greylist:192.0.2.1") == "1700000000:1:0:0")
        #expect(try await second.increment("karma:naughty:192.0.2.1") == 3)
        clock.advance(by: .seconds(3600))
        #expect(try await second.get("greylist:192.0.2.1") == nil)
        try await second.close()
    }

    @Test func aCorruptDatabaseStopsStartUpWithTheReason() async throws {
        let directory = freshDirectory()
        #expect(StateDirectory.prepare(directory) == nil)
        let file = fopen(directory + "/state.sqlite", "w")!
        fputs(String(repeating: "this is not an SQLite database\n", count: 200), file)
        fclose(file)
        do {
            _ = try await SQLiteStateStore.open(directory: directory)
            Issue.record("a corrupt database opened")
        } catch let error as SQLiteStateStore.OpenError {
            let text = "\(error)"
            #expect(text.contains(directory + "/state.sqlite"))
            #expect(text.contains("not a database"))
            #expect(text.contains("move the file away"))
        }
    }

    @Test func aDirectoryThatCannotBeMadeStopsStartUp() async throws {
        // Under a regular file: no directory can be made there, not even by root.
        let parent = TemporaryDirectory.make(prefix: "state")
        let blocker = parent + "/file"
        fclose(fopen(blocker, "w"))
        do {
            _ = try await SQLiteStateStore.open(directory: blocker + "/state")
            Issue.record("opened under a file")
        } catch let error as SQLiteStateStore.OpenError {
            #expect("\(error)" == "cannot create state directory \(blocker)/state: Not a directory")
        }
        do {
            _ = try await SQLiteStateStore.open(directory: blocker)
            Issue.record("opened a file as a directory")
        } catch let error as SQLiteStateStore.OpenError {
            #expect("\(error)" == "state directory \(blocker) is not a directory")
        }
    }

    @Test func theDefaultDirectoryIsBesideTheSpool() {
        #expect(StateDirectory.path(configured: nil, spoolDirectory: "/var/spool/qpsmtpd/") == "/var/spool/qpsmtpd-state")
        #expect(StateDirectory.path(configured: nil, spoolDirectory: "/home/smtpd/tmp") == "/home/smtpd/tmp-state")
        #expect(StateDirectory.path(configured: "/var/lib/qpsmtpd", spoolDirectory: "/x") == "/var/lib/qpsmtpd")
    }
}
