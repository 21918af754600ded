import Logging
import SMTPCore
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

/// End-of-message changes applied to a transaction: header fields by libmilter's rules (1-based
/// occurrence per name, empty value deletes, 0-based insert position), the envelope, and a body
/// replaced into a new spool with CRLF line ends whatever the milter sent.
@Suite struct MilterMessageChangesTests {
    func transaction(_ text: String) throws -> Transaction {
        let (header, spool) = try Fixture.message(text)
        let transaction = Transaction(id: "T1")
        transaction.header = header
        transaction.body = spool
        transaction.sender = .mailbox(Fixture.mailbox("a@client.example"))
        transaction.recipients = [Fixture.mailbox("u1@test.example")]
        return transaction
    }

    func changes(_ transaction: Transaction, leadingSpace: Bool = false) -> MilterMessageChanges {
        MilterMessageChanges(
            transaction: transaction, services: PluginServices(hostName: "mx.test.example"),
            logger: Logger(label: "milter", factory: { _ in SwiftLogNoOpLogHandler() }), milter: "test", leadingSpace: leadingSpace)
    }

    @Test func headerFieldsFollowLibmilterIndexes() async throws {
        let txn = try transaction("Subject: one\r\nX-A: 1\r\nSubject: two\r\n\r\nbody\r\n")
        let apply = changes(txn)
        try await apply.apply(.changeHeader(index: 2, name: "subject", value: "second\n\tfolded"))
        try await apply.apply(.changeHeader(index: 1, name: "X-A", value: ""))
        try await apply.apply(.insertHeader(index: 0, name: "X-Top", value: "first"))
        try await apply.apply(.addHeader(name: "X-End", value: "last"))
        try await apply.apply(.changeHeader(index: 1, name: "X-Missing", value: "added"))
        #expect(txn.header.serialized() == "X-Top: first\r\nSubject: one\r\nSubject: second\r\n\tfolded\r\nX-End: last\r\nX-Missing: added\r\n")
        let spaced = changes(txn, leadingSpace: true)
        try await spaced.apply(.addHeader(name: "X-Raw", value: "  two spaces"))
        #expect(txn.header.fields.last == MessageHeader.Field(name: "X-Raw", rawValue: "  two spaces"))
    }

    @Test func envelopeChanges() async throws {
        let txn = try transaction("Subject: s\r\n\r\nbody\r\n")
        let apply = changes(txn)
        try await apply.apply(.changeSender("<new@client.example>", parameters: "BODY=8BITMIME"))
        try await apply.apply(.addRecipient("u2@test.example", parameters: nil))
        try await apply.apply(.addRecipient("<u3@test.example>", parameters: "NOTIFY=NEVER"))
        try await apply.apply(.deleteRecipient("<U1@test.example>"))
        #expect(txn.sender?.address == "new@client.example")
        #expect(txn.senderParameters == [ESMTPParameter(keyword: "BODY", value: "8BITMIME")])
        #expect(txn.recipients.map(\.address) == ["u2@test.example", "u3@test.example"])
        await #expect(throws: MilterProtocolError.self) { try await apply.apply(.changeSender("not an address", parameters: nil)) }
    }

    @Test func replacedBodyGoesToANewSpoolWithCRLF() async throws {
        let txn = try transaction("Subject: s\r\n\r\nold body\r\n")
        let old = try #require(txn.body)
        let apply = changes(txn)
        try await apply.apply(.replaceBody(Array("line one\nline two\r".utf8)))
        try await apply.apply(.replaceBody(Array("\nline three".utf8)))
        #expect(txn.body === old)  // not before the milter's decision
        try await apply.finish()
        let new = try #require(txn.body)
        #expect(new !== old)
        // A final line end is added: every backend's framing needs one.
        #expect(try new.bytes(from: new.bodyOffset) == Array("\r\nline one\r\nline two\r\nline three\r\n".utf8))
        let written = try MessageWriter.bytes(header: txn.header, body: new, lineEnding: .crlf)
        #expect(written == Array("Subject: s\r\n\r\nline one\r\nline two\r\nline three\r\n".utf8))
    }

    @Test func quarantineIsANote() async throws {
        let txn = try transaction("Subject: s\r\n\r\nbody\r\n")
        try await changes(txn).apply(.quarantine(reason: "looks odd"))
        #expect(txn[note: NoteKey<String>("quarantine")] == "looks odd")
    }
}
