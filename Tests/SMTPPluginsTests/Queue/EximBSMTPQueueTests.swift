import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// queue/exim-bsmtp with a stub runner: the batch it writes and how Exim's report becomes a reply.
/// tests/live/test_exim_bsmtp.py runs it against a real Exim.
@Suite struct EximBSMTPQueueTests {
    static let message = "Subject: hello\r\n\r\n.leading dot\r\nlast\r\n"

    private func queue(
        _ line: String = "queue/exim-bsmtp exim_path /opt/exim/bin/exim", sender: String = "s@example.org",
        recipients: [String] = ["a@example.net", "postmaster"], memoryThreshold: Int = 1 << 20,
        answer: @escaping @Sendable (ProgramInvocation) throws -> ProgramResult
    ) async throws -> (HookResult, [ProgramInvocation]) {
        let stub = StubProgramRunner(answer: answer)
        let harness = try PluginHarness(line, services: PluginServices(hostName: "mx.test.example", programs: stub))
        try await harness.mail(from: sender)
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(Self.message, memoryThreshold: memoryThreshold)
        return (try await harness.queue(), stub.invocations)
    }

    @Test(arguments: [1 << 20, 0])
    func writesTheBatch(memoryThreshold: Int) async throws {
        let (result, invocations) = try await queue(memoryThreshold: memoryThreshold) { _ in ProgramResult(termination: .exited(0)) }
        #expect(result == .ok("Queued!"))
        let invocation = try #require(invocations.first)
        #expect(invocation.path == "/opt/exim/bin/exim")
        #expect(invocation.arguments == ["-bS"])
        // Not standard error: Exim's background delivery would hold it open.
        #expect(invocation.captureOutput && !invocation.captureError)
        let batch = String(decoding: invocation.inputs[0] ?? [], as: UTF8.self)
        #expect(
            batch
                == "HELO mx.test.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<postmaster>\r\nDATA\r\n"
                + "Subject: hello\r\n\r\n..leading dot\r\nlast\r\n.\r\nQUIT\r\n")
    }

    @Test func defaultPathAndNullSender() async throws {
        let (_, invocations) = try await queue("queue/exim-bsmtp", sender: "<>") { _ in ProgramResult(termination: .exited(0)) }
        #expect(invocations.first?.path == "/usr/sbin/rsmtp")
        let batch = String(decoding: invocations.first?.inputs[0] ?? [], as: UTF8.self)
        #expect(batch.contains("\r\nMAIL FROM:<>\r\n"))
    }

    @Test func eximsPermanentRefusalReachesTheClient() async throws {
        let report = Array("550 5.7.1 recipient refused\nTransaction started in line 1\nError detected in line 9\n".utf8)
        let (result, _) = try await queue { _ in ProgramResult(termination: .exited(2), output: report, error: Array("An error was detected\n".utf8)) }
        #expect(result == .done(SMTPReply(550, EnhancedStatusCode(5, 7, 1), "recipient refused")))
        let (plain, _) = try await queue { _ in ProgramResult(termination: .exited(2), output: Array("501 domain missing or malformed\n".utf8)) }
        #expect(plain == .done(SMTPReply(501, EnhancedStatusCode(5, 3, 0), "domain missing or malformed")))
    }

    @Test func everythingElseAnswers451() async throws {
        let cases: [(@Sendable (ProgramInvocation) throws -> ProgramResult, HookResult)] = [
            ({ _ in ProgramResult(termination: .exited(2), output: Array("421 Lost incoming connection\n".utf8)) },
             .denySoft("4.3.0 Unable to queue message (Exim exited 2: Lost incoming connection)")),
            // Exit 1 is also Exim failing to start; without a clean 0 nothing is confirmed.
            ({ _ in ProgramResult(termination: .exited(1), error: Array("exim: failed to find uid\n".utf8)) },
             .denySoft("4.3.0 Unable to queue message (Exim exited 1)")),
            ({ _ in ProgramResult(termination: .signaled(9)) }, .denySoft("4.3.0 Unable to queue message (Exim killed by signal 9)")),
            ({ _ in throw ProgramError.timedOut }, .denySoft("4.3.0 Unable to queue message (Exim timed out)")),
            ({ _ in throw ProgramError.cannotStart("no such file") }, .denySoft("4.3.0 Unable to queue message (cannot run Exim)")),
        ]
        for (answer, expected) in cases {
            #expect(try await queue(answer: answer).0 == expected)
        }
    }

    @Test func reportParsing() {
        #expect(EximOutput(Array("550 local configuration problem\nTransaction...".utf8)).code == 550)
        #expect(EximOutput(Array("550 local configuration problem\r\n".utf8)).text == "local configuration problem")
        #expect(EximOutput([]).code == nil)
        #expect(EximOutput(Array("exim: something\n".utf8)).code == nil)
    }

    @Test func relativeEximPathIsRefusedAtLoad() {
        #expect(throws: (any Error).self) { try PluginHarness("queue/exim-bsmtp exim_path exim") }
    }
}
