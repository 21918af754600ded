import Logging
import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// queue/qmail-queue with a stub runner: what it hands the program, and how each end of the
/// program becomes a reply. tests/live/test_qmail_queue.py runs it against a real process.
@Suite struct QmailQueueTests {
    static let message = "Subject: hello\r\nMessage-Id: <1@example.org>\r\n\r\nline one\r\n.. dot\r\n\r\nlast\r\n"

    private func queue(
        _ answer: @escaping @Sendable (ProgramInvocation) throws -> ProgramResult, sender: String = "s@example.org",
        recipients: [String] = ["a@example.net", "b@example.net"], message: String = Self.message, memoryThreshold: Int = 1 << 20
    ) async throws -> (HookResult, [ProgramInvocation]) {
        let stub = StubProgramRunner(answer: answer)
        let harness = try PluginHarness("queue/qmail-queue /var/qmail/bin/qmail-queue", services: PluginServices(hostName: "mx.test.example", programs: stub))
        try await harness.mail(from: sender)
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(message, memoryThreshold: memoryThreshold)
        return (try await harness.queue(), stub.invocations)
    }

    @Test(arguments: [1 << 20, 0])
    func handsOverMessageAndEnvelope(memoryThreshold: Int) async throws {
        let (result, invocations) = try await queue({ _ in ProgramResult(termination: .exited(0), processID: 4242) }, memoryThreshold: memoryThreshold)
        let invocation = try #require(invocations.first)
        #expect(invocation.path == "/var/qmail/bin/qmail-queue")
        #expect(invocation.arguments.isEmpty)
        #expect(invocation.inputs[1] == Array("Fs@example.org\0Ta@example.net\0Tb@example.net\0\0".utf8))
        // The stub read the stream: LF line ends, the body as spooled.
        #expect(invocation.inputs[0] == Array("Subject: hello\nMessage-Id: <1@example.org>\n\nline one\n.. dot\n\nlast\n".utf8))
        guard case .ok(let text?) = result else { Issue.record("not OK: \(result)"); return }
        let words = text.split(separator: " ")
        #expect(words.count == 5 && words[0] == "Queued!" && Int(words[1]) != nil && words[2] == "qp" && words[3] == "4242" && words[4] == "<1@example.org>")
    }

    @Test func nullSenderAndBarePostmaster() async throws {
        let (_, invocations) = try await queue({ _ in ProgramResult(termination: .exited(0)) }, sender: "<>", recipients: ["postmaster"])
        #expect(invocations.first?.inputs[1] == Array("F\0Tpostmaster\0\0".utf8))
    }

    @Test func messageIDIsBracketedAndCut() {
        #expect(QmailQueue.messageID(MessageHeader(fields: [.init(name: "Message-Id", value: "abc@example.org")])) == "<abc@example.org>")
        #expect(QmailQueue.messageID(MessageHeader()) == "<>")
        #expect(QmailQueue.messageID(MessageHeader(fields: [.init(name: "Message-ID", rawValue: " <x@y>\r\n <z>")])) == "<x@y>")
    }

    @Test(arguments: [
        (Int32(11), HookResult.deny("5.3.0 Unable to queue message (11): address too long")),
        (31, .deny("5.3.0 Unable to queue message (31): mail server permanently refuses the message")),
        (40, .deny("5.3.0 Unable to queue message (40): permanent failure")),
        (51, .denySoft("4.3.0 Unable to queue message (51): out of memory")),
        (53, .denySoft("4.3.0 Unable to queue message (53): write error (disk full?)")),
        (71, .denySoft("4.3.0 Unable to queue message (71): mail server temporarily refuses the message")),
        (72, .denySoft("4.4.1 Unable to queue message (72): connection to mail server timed out")),
        (74, .denySoft("4.4.2 Unable to queue message (74): communication with mail server failed")),
        (91, .denySoft("4.3.0 Unable to queue message (91): envelope format error")),
        (100, .denySoft("4.3.0 Unable to queue message (100): temporary failure")),
        (1, .denySoft("4.3.0 Unable to queue message (1): temporary failure")),
    ])
    func exitCodes(code: Int32, expected: HookResult) async throws {
        let (result, _) = try await queue { _ in ProgramResult(termination: .exited(code)) }
        #expect(result == expected)
    }

    @Test func programsThatDoNotEndWellAnswer451() async throws {
        let cases: [(@Sendable (ProgramInvocation) throws -> ProgramResult, String)] = [
            ({ _ in throw ProgramError.timedOut }, "4.3.0 Unable to queue message (timed out)"),
            ({ _ in throw ProgramError.cannotStart("no such file") }, "4.3.0 Unable to queue message (cannot run qmail-queue)"),
            ({ _ in throw ProgramError.inputFailed("spool unreadable") }, "4.3.0 Unable to queue message (cannot run qmail-queue)"),
            ({ _ in ProgramResult(termination: .signaled(9)) }, "4.3.0 Unable to queue message (qmail-queue killed by signal 9)"),
        ]
        for (answer, text) in cases {
            #expect(try await queue(answer).0 == .denySoft(text))
        }
    }

    @Test func pathFromArgumentsAndEnvironment() throws {
        func path(_ words: [String], _ environment: [String: String]) throws -> String {
            let context = PluginContext(
                instanceName: "queue/qmail-queue", arguments: PluginArguments(words), config: InMemoryConfigStore([:]),
                logger: Logger(label: "test"), services: PluginServices(hostName: "mx.test.example"))
            return try QmailQueue(context: context) { environment[$0] }.path
        }
        #expect(try path([], [:]) == "/var/qmail/bin/qmail-queue")
        #expect(try path([], ["QMAIL": "/opt/qmail"]) == "/opt/qmail/bin/qmail-queue")
        #expect(try path(["/usr/bin/qq", "timeout", "30"], [:]) == "/usr/bin/qq")
        #expect(try path(["timeout", "30"], [:]) == "/var/qmail/bin/qmail-queue")
        #expect(try path(["/usr/bin/qq"], ["QMAILQUEUE": "/usr/local/bin/simscan"]) == "/usr/local/bin/simscan")
    }

    @Test func unsafePathIsRefusedAtQueueTime() async throws {
        #expect(QmailQueue.isSafe("/var/qmail/bin/qmail-queue"))
        #expect(!QmailQueue.isSafe("qmail-queue"))
        #expect(!QmailQueue.isSafe("/tmp/a b/qmail-queue"))
        #expect(!QmailQueue.isSafe("/bin/sh;rm"))
        let stub = StubProgramRunner()
        let harness = try PluginHarness("queue/qmail-queue /tmp/x;y", services: PluginServices(hostName: "mx.test.example", programs: stub))
        try await harness.mail(from: "s@example.org")
        try await harness.rcpt(to: "a@example.net")
        try harness.setMessage(Self.message)
        #expect(try await harness.queue() == .denySoft("4.3.0 Unable to queue message (unsafe qmail-queue path)"))
        #expect(stub.invocations.isEmpty)
    }
}
