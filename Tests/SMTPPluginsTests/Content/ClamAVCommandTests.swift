import Foundation
import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// virus/clamav with a stub program runner (the message it streams, the exits it maps), and
/// virus/klez_filter's heuristic; tests/live/test_clamav.py runs clamdscan for real.
@Suite struct ClamAVCommandTests {
    static let message = "Subject: x\r\n\r\nbody\r\n"

    static func run(_ words: String, exit: ProgramTermination, output: String = "") async throws -> (HookResult, PluginHarness, StubProgramRunner) {
        let programs = StubProgramRunner { _ in ProgramResult(termination: exit, output: Array(output.utf8)) }
        let harness = try PluginHarness(
            "virus/clamav " + words, services: PluginServices(hostName: "mx.test.example", programs: programs))
        try await harness.mail(from: "s@example.org")
        try await harness.rcpt(to: "u@example.net")
        try harness.setMessage(Self.message)
        return (try await harness.dataPost(), harness, programs)
    }

    @Test func cleanMessageIsMarkedChecked() async throws {
        let (result, harness, programs) = try await Self.run("clamd_conf=/etc/clamav/clamd.conf", exit: .exited(0), output: "stream: OK\n")
        #expect(result == .declined)
        #expect(harness.transaction.header.value(of: "X-Virus-Checked") == "Checked by ClamAV on mx.test.example")
        let invocation = try #require(programs.invocations.first)
        #expect(invocation.path == "/usr/bin/clamdscan")
        #expect(invocation.arguments == ["--stdout", "--no-summary", "--config-file=/etc/clamav/clamd.conf", "-"])
        #expect(invocation.inputs[0] == Array(Self.message.utf8))
    }

    @Test func virusIsMarkedOrRefused() async throws {
        let found = "fd[12]: Eicar-Signature FOUND\nfd[12]: Other.Thing FOUND\n"
        let (marked, harness, _) = try await Self.run("/usr/bin/clamscan", exit: .exited(1), output: found)
        #expect(marked == .declined)
        #expect(harness.transaction.header.value(of: "X-Virus-Found") == "Yes")
        #expect(harness.transaction.header.value(of: "X-Virus-Details") == "Eicar-Signature, Other.Thing")
        let (refused, _, programs) = try await Self.run("clamscan_path=/usr/bin/clamscan action=reject", exit: .exited(1), output: "stdin: Eicar-Signature FOUND\n")
        #expect(refused == .deny("Virus Found: Eicar-Signature"))
        #expect(programs.invocations.first?.path == "/usr/bin/clamscan")
    }

    @Test func scannerFailureDefersUnlessDeclinedOnFail() async throws {
        #expect(try await Self.run("", exit: .exited(2)).0 == .denySoft("4.7.1 Unable to scan for viruses"))
        #expect(try await Self.run("", exit: .signaled(9)).0 == .denySoft("4.7.1 Unable to scan for viruses"))
        #expect(try await Self.run("declined_on_fail", exit: .exited(2)).0 == .declined)
        let (large, _, programs) = try await Self.run("max_size=5", exit: .exited(1))
        #expect(large == .declined && programs.invocations.isEmpty)
    }

    @Test func arguments() throws {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/clamav action=quarantine") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/clamav clamscan_path=relative/clamscan") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/clamav colour=blue") }
        #expect(try PluginHarness("clamav tmp_dir=/tmp back_compat max_size=1000").registeredHooks == [.dataPost])
    }

    static func klez(_ body: String, padTo size: Int = 70_000) async throws -> HookResult {
        let harness = try PluginHarness("virus/klez_filter")
        try await harness.mail(from: "s@example.org")
        try await harness.rcpt(to: "u@example.net")
        let padding = String(repeating: "x", count: max(0, size - body.utf8.count))
        try harness.setMessage("Subject: hi\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" + body + padding + "\r\n", memoryThreshold: 0)
        return try await harness.dataPost()
    }

    @Test func klezHeuristic() async throws {
        let worm = "--b\r\nContent-Type: audio/x-wav;\r\n name=a.exe\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\r\n"
        #expect(try await Self.klez(worm) == .deny("Klez Virus Detected"))
        #expect(try await Self.klez(worm, padTo: 1000) == .declined)  // under 60,000 bytes: not looked at
        #expect(try await Self.klez(worm.replacingOccurrences(of: "audio/x-wav", with: "text/plain")) == .declined)
        let late = String(repeating: "line\r\n", count: 45) + worm
        #expect(try await Self.klez(late) == .declined)  // only the first 41 lines count
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/klez_filter extra") }
    }
}
