import Foundation
import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct MaildirQueueTests {
    /// Runs one transaction through `queue/maildir WORDS`; addresses as a client writes them.
    private func queue(
        _ words: [String], message: String, sender: String = "sender@example.org",
        recipients: [String] = ["rcpt@example.net", "other@example.net"], memoryThreshold: Int = 1 << 20
    ) async throws -> HookResult {
        let harness = try PluginHarness((["queue/maildir"] + words).joined(separator: " "))
        try await harness.mail(from: sender)
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(message, memoryThreshold: memoryThreshold)
        return try await harness.queue()
    }

    /// The one delivered file of the Maildir at `sub`, after checking tmp/ is empty.
    private func delivered(_ dir: TemporaryDirectory, _ sub: String) throws -> String {
        #expect(try dir.files(in: sub + "/tmp").isEmpty)
        #expect(try dir.files(in: sub + "/cur").isEmpty)
        let files = try dir.files(in: sub + "/new")
        try #require(files.count == 1)
        #expect(files[0].contains(".P\(getpid())M"))
        return try dir.read(sub + "/new/" + files[0])
    }

    @Test(arguments: [1 << 20, 0])
    func deliversWithEnvelopeHeadersAndLFLineEnds(memoryThreshold: Int) async throws {
        let dir = try TemporaryDirectory()
        let result = try await queue(
            [dir.path + "/Maildir"],
            message: "Subject: hello\r\n folded\r\nMessage-Id: <1@example.org>\r\n\r\nline one\r\n\r\n.. dot\r\n",
            memoryThreshold: memoryThreshold)
        #expect(result == .ok("Queued! <1@example.org>"))
        #expect(
            try delivered(dir, "Maildir")
                == "Return-Path: <sender@example.org>\nDelivered-To: rcpt@example.net\nDelivered-To: other@example.net\nSubject: hello\n folded\n"
                + "Message-Id: <1@example.org>\n\nline one\n\n.. dot\n")
    }

    @Test func bodyStartingWithANonHeaderLineGetsASeparator() async throws {
        let dir = try TemporaryDirectory()
        let result = try await queue([dir.path], message: "Subject: x\r\nthis is not a header\r\nSubject: y\r\n")
        #expect(result == .ok("Queued!"))
        #expect(
            try delivered(dir, ".")
                == "Return-Path: <sender@example.org>\nDelivered-To: rcpt@example.net\nDelivered-To: other@example.net\nSubject: x\n\nthis is not a header\nSubject: y\n")
    }

    @Test func headerOnlyMessageAndNullSender() async throws {
        let dir = try TemporaryDirectory()
        _ = try await queue([dir.path], message: "Subject: x\r\n", sender: "<>")
        #expect(try delivered(dir, ".") == "Return-Path: <>\nDelivered-To: rcpt@example.net\nDelivered-To: other@example.net\nSubject: x\n\n")
    }

    @Test func deliveredToKeepsTheQuotingOfAQuotedLocalPart() async throws {
        let dir = try TemporaryDirectory()
        _ = try await queue([dir.path], message: "Subject: x\r\n", recipients: [#""a..b"@example.net"#, "plain@example.net"])
        #expect(try delivered(dir, ".").hasPrefix("Return-Path: <sender@example.org>\nDelivered-To: \"a..b\"@example.net\nDelivered-To: plain@example.net\n"))
    }

    @Test func subdirPatternDeliversOneCopyPerRecipient() async throws {
        let dir = try TemporaryDirectory()
        let result = try await queue(
            [dir.path, "%d/%l", "750"], message: "Subject: x\r\n\r\nbody\r\n",
            recipients: ["a@example.net", #""b/../c"@example.net"#, #"".."@example.org"#])
        #expect(result == .ok("Queued!"))
        #expect(try delivered(dir, "example.net/a") == "Return-Path: <sender@example.org>\nDelivered-To: a@example.net\nSubject: x\n\nbody\n")
        #expect(try delivered(dir, "example.net/b_.._c").contains("Delivered-To: \"b/../c\"@example.net\n"))
        #expect(try delivered(dir, "example.org/__").contains("Delivered-To: \"..\"@example.org\n"))
        let file = try dir.files(in: "example.net/a/new")[0]
        var info = stat()
        #expect(stat(dir.path + "/example.net/a/new/" + file, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(stat(dir.path + "/example.net/a/new", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o750)
    }

    @Test func unwritableDirectoryIsATemporaryFailure() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("file", "not a directory\n")
        let result = try await queue([dir.path + "/file/Maildir"], message: "Subject: x\r\n\r\nbody\r\n")
        #expect(result == .denySoft("4.3.0 queue error (open)"))
    }

    @Test func argumentErrors() throws {
        #expect(throws: PluginArgumentError.self) { try MaildirQueue(context: Fixture.context("queue/maildir")) }
        #expect(throws: PluginArgumentError.self) { try MaildirQueue(context: Fixture.context("queue/maildir", ["/tmp/x", "nopattern"])) }
        #expect(throws: PluginArgumentError.self) { try MaildirQueue(context: Fixture.context("queue/maildir", ["/tmp/x", "%l", "789"])) }
    }

    @Test func expandsPatterns() {
        let box = Fixture.mailbox("Jo Doe@Example.org")
        #expect(MaildirQueue.expand("%d/%l/%u/%x/%", for: box) == "Example.org/Jo_Doe/Jo_Doe@Example.org/%x/%")
    }
}

@Suite struct MessageWriterTests {
    private func written(_ text: String, _ ending: MessageWriter.LineEnding) throws -> String {
        let (header, body) = try Fixture.message(text)
        return String(decoding: try MessageWriter.bytes(header: header, body: body, lineEnding: ending), as: UTF8.self)
    }

    @Test func keepsCRLF() throws {
        #expect(try written("A: 1\r\n b\r\n\r\nx\r\n", .crlf) == "A: 1\r\n b\r\n\r\nx\r\n")
    }

    @Test func convertsToLFAndKeepsALoneCR() throws {
        #expect(try written("A: 1\r\n\r\nx\ry\r\nz\r", .lf) == "A: 1\n\nx\ry\nz\r")
    }

    @Test func crlfSplitAcrossSpoolChunks() throws {
        // The spool file is read in 64 KiB chunks from the body offset; put a CRLF across the boundary.
        let filler = String(repeating: "x", count: 65_533)
        let (header, body) = try Fixture.message("A: 1\r\n\r\n" + filler + "\r\ny\r\n", memoryThreshold: 0)
        #expect(!body.isInMemory)
        let out = String(decoding: try MessageWriter.bytes(header: header, body: body, lineEnding: .lf), as: UTF8.self)
        #expect(out == "A: 1\n\n" + filler + "\ny\n")
    }

    @Test func insertsTheSeparator() throws {
        #expect(try written("A: 1\r\nnot a header\r\n", .crlf) == "A: 1\r\n\r\nnot a header\r\n")
        #expect(try written("just text\r\n", .lf) == "\njust text\n")
        #expect(try written("A: 1\r\n", .lf) == "A: 1\n\n")
        #expect(try written("", .lf) == "\n")
    }

    @Test func writesAHeaderWithoutBody() throws {
        var header = MessageHeader()
        header.append("Subject", "x")
        #expect(String(decoding: try MessageWriter.bytes(header: header, body: nil, lineEnding: .crlf), as: UTF8.self) == "Subject: x\r\n\r\n")
    }
}
