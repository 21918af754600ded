#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Testing

@Suite struct ProgramRunnerTests {
    let runner = SpawnProgramRunner()

    func sh(_ script: String, inputs: [Int32: [UInt8]] = [:], output: Bool = true, error: Bool = false, environment: [String: String]? = nil) -> ProgramInvocation {
        ProgramInvocation("/bin/sh", arguments: ["-c", script], environment: environment, inputs: inputs, captureOutput: output, captureError: error)
    }

    func deadline(_ duration: Duration = .seconds(10)) -> ContinuousClock.Instant { .now.advanced(by: duration) }

    @Test func feedsDescriptorThree() async throws {
        let input = Array("user\0pass\0123\0".utf8)
        let result = try await runner.run(sh("cat <&3", inputs: [3: input]), deadline: deadline())
        #expect(result.termination == .exited(0))
        #expect(result.output == input)
    }

    @Test func standardStreams() async throws {
        let result = try await runner.run(sh("tr a-z A-Z; echo oops >&2; exit 3", inputs: [0: Array("hello\n".utf8)], error: true), deadline: deadline())
        #expect(result.termination == .exited(3))
        #expect(result.output == Array("HELLO\n".utf8))
        #expect(result.error == Array("oops\n".utf8))
    }

    @Test func envelopeOnDescriptorOne() async throws {
        // qmail-queue's layout: message on 0, envelope on 1 (so 1 is read, not written).
        let result = try await runner.run(
            sh("cat <&1 >&2", inputs: [0: [], 1: Array("Fa@example.com\0".utf8)], output: false, error: true), deadline: deadline())
        #expect(result.termination == .exited(0))
        #expect(result.error == Array("Fa@example.com\0".utf8))
        #expect(result.output == nil)
    }

    @Test func signalsAndEnvironment() async throws {
        #expect(try await runner.run(sh("kill -TERM $$"), deadline: deadline()).termination == .signaled(SIGTERM))
        let result = try await runner.run(sh("echo \"$GREETING\"", environment: ["GREETING": "hi there", "PATH": "/bin:/usr/bin"]), deadline: deadline())
        #expect(result.output == Array("hi there\n".utf8))
    }

    @Test func programIgnoringItsInput() async throws {
        // More than a pipe holds, never read: the run still ends.
        let result = try await runner.run(sh("exit 0", inputs: [0: Array(repeating: 65, count: 1 << 20)], output: false), deadline: deadline())
        #expect(result.termination == .exited(0))
    }

    @Test func captureIsBounded() async throws {
        var invocation = sh("head -c 100000 /dev/zero")
        invocation.captureLimit = 1000
        let result = try await runner.run(invocation, deadline: deadline())
        #expect(result.output?.count == 1000)
    }

    @Test func refusals() async throws {
        await #expect {
            try await runner.run(ProgramInvocation("/nonexistent/program"), deadline: deadline())
        } throws: { error in
            if case ProgramError.cannotStart = error { return true }
            return false
        }
        await #expect(throws: ProgramError.invalid("descriptor 1 both fed and captured")) {
            try await runner.run(sh("true", inputs: [1: []], output: true), deadline: deadline())
        }
    }

    @Test func killedAtTheDeadlineAndReaped() async throws {
        let dir = TemporaryDirectory.make(prefix: "runner")
        let start = ContinuousClock.now
        // The shell and a child it starts in the background: both must go.
        await #expect(throws: ProgramError.timedOut) {
            try await runner.run(sh("sleep 30 & echo $! > \(dir)/child; echo $$ > \(dir)/pid; wait", inputs: [:], output: false), deadline: deadline(.milliseconds(500)))
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        let pid = try Self.pid(in: dir + "/pid")
        let child = try Self.pid(in: dir + "/child")
        // Reaped: not even a zombie is left.
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(await Self.gone(child))
    }

    @Test func cancellationKills() async throws {
        let dir = TemporaryDirectory.make(prefix: "runner")
        let run = Task { try await runner.run(sh("echo $$ > \(dir)/pid.tmp; mv \(dir)/pid.tmp \(dir)/pid; exec sleep 30", output: false), deadline: deadline(.seconds(60))) }
        for _ in 0..<200 where access(dir + "/pid", F_OK) != 0 { try await Task.sleep(for: .milliseconds(10)) }
        run.cancel()
        await #expect(throws: CancellationError.self) { try await run.value }
        let pid = try Self.pid(in: dir + "/pid")
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }

    static func pid(in path: String) throws -> pid_t {
        let text = try #require(try? String(contentsOfFile: path, encoding: .utf8))
        return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Dead: gone, or a zombie waiting for whoever it was re-parented to (in a container that
    /// may be a PID 1 that never reaps). Waits a little for the kill to land.
    static func gone(_ pid: pid_t) async -> Bool {
        for _ in 0..<1000 {
            if kill(pid, 0) == -1 && errno == ESRCH { return true }
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), stat.contains(") Z ") { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
