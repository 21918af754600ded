import SMTPCore
import SMTPPluginAPI
import Logging

/// Carries out a milter's end-of-message changes on the transaction as they arrive: header
/// fields, the envelope, and a replaced body streamed into a new spool (memory up to the spool's
/// threshold, then a file), which becomes the transaction's body once the milter has decided.
final class MilterMessageChanges {
    let transaction: Transaction
    let services: PluginServices
    let logger: Logger
    let milter: String
    /// Header values travel with their leading space (SMFIP_HDR_LEADSPC).
    let leadingSpace: Bool
    private var newBody: SpooledMessage?
    /// The last byte of the previous body piece was a CR: a LF starting the next one completes it.
    private var pendingCR = false
    /// Whether what was written so far ends a line; a body must, for every backend's framing.
    private var endsWithLineEnd = true

    init(transaction: Transaction, services: PluginServices, logger: Logger, milter: String, leadingSpace: Bool) {
        self.transaction = transaction
        self.services = services
        self.logger = logger
        self.milter = milter
        self.leadingSpace = leadingSpace
    }

    func apply(_ change: MilterResponse) async throws {
        switch change {
        case .addHeader(let name, let value):
            transaction.modifyHeader { $0.fields.append(field(name, value)) }
        case .insertHeader(let index, let name, let value):
            transaction.modifyHeader { $0.fields.insert(field(name, value), at: min(index, $0.fields.count)) }
        case .changeHeader(let index, let name, let value):
            transaction.modifyHeader { header in
                let matching = header.fields.indices.filter { header.fields[$0].name.lowercased() == name.lowercased() }
                // libmilter counts from 1; an index past the last such field adds one (Sendmail's rule).
                let position = index >= 1 && index <= matching.count ? matching[index - 1] : nil
                if value.isEmpty {
                    if let position { header.fields.remove(at: position) }
                } else if let position {
                    header.fields[position].rawValue = field(name, value).rawValue
                } else {
                    header.fields.append(field(name, value))
                }
            }
        case .replaceBody(let piece):
            try await appendBody(piece)
        case .changeSender(let address, let parameters):
            let path = address.hasPrefix("<") ? address : "<\(address)>"
            do {
                transaction.sender = try PathParser.parseReversePath(path)
                transaction.senderParameters = Self.parameters(parameters)
            } catch {
                throw MilterProtocolError("milter's new sender \(address) is not an address: \((error as? PathSyntaxError)?.message ?? "\(error)")")
            }
        case .addRecipient(let address, let parameters):
            let path = address.hasPrefix("<") ? address : "<\(address)>"
            let mailbox: Mailbox
            do { mailbox = try PathParser.parseForwardPath(path) } catch {
                throw MilterProtocolError("milter's new recipient \(address) is not an address: \((error as? PathSyntaxError)?.message ?? "\(error)")")
            }
            if let parameters, !parameters.isEmpty {
                // The transaction keeps no parameters per recipient (RCPT takes none here).
                logger.info("\(milter): recipient \(mailbox.formatted) added; its parameters '\(parameters)' are not kept")
            }
            if !transaction.recipients.contains(mailbox) { transaction.addRecipient(mailbox) }
        case .deleteRecipient(let address):
            let bare = address.trimmingAngleBrackets.lowercased()
            transaction.recipients = transaction.recipients.filter { $0.address.lowercased() != bare }
        case .quarantine(let reason):
            // There is no hold queue to park the message in: the reason is kept as a transaction
            // note (`quarantine`) for queue plugins and logged; the message goes on.
            logger.warning("\(milter): quarantine requested: \(reason)")
            transaction[note: .milterQuarantine] = reason
        default:
            break
        }
    }

    /// Puts the replaced body in place; call once the milter has decided.
    func finish() async throws {
        guard let newBody else { return }
        if pendingCR || !endsWithLineEnd { try await write([0x0D, 0x0A], to: newBody) }
        transaction.body = newBody
        self.newBody = nil
    }

    private func appendBody(_ piece: [UInt8]) async throws {
        let spool: SpooledMessage
        if let newBody {
            spool = newBody
        } else {
            guard let old = transaction.body else { throw MilterProtocolError("body replacement without a message") }
            spool = old.makeReplacement()
            // As the session spools it: the empty line ending the header block comes first.
            try await write([0x0D, 0x0A], to: spool)
            spool.bodyOffset = 0
            newBody = spool
        }
        // The spool holds CRLF line ends only; a milter may send bare LFs (or CRs).
        var out: [UInt8] = []
        out.reserveCapacity(piece.count + 64)
        for byte in piece {
            if pendingCR {
                out.append(0x0D)
                out.append(0x0A)
                pendingCR = false
                if byte == 0x0A { continue }
            }
            if byte == 0x0D {
                pendingCR = true
            } else if byte == 0x0A {
                out.append(0x0D)
                out.append(0x0A)
            } else {
                out.append(byte)
            }
        }
        if !out.isEmpty { endsWithLineEnd = out.last == 0x0A }
        try await write(out, to: spool)
    }

    private func write(_ bytes: [UInt8], to spool: SpooledMessage) async throws {
        guard !bytes.isEmpty else { return }
        try await services.blocking.run { try spool.append(bytes) }
    }

    /// A field as the milter wrote it: line ends back to CRLF, the customary space after the colon
    /// unless the value already carries its own (HDR_LEADSPC).
    private func field(_ name: String, _ value: String) -> MessageHeader.Field {
        let crlf = value.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in String(String.UnicodeScalarView(line.last == "\r" ? line.dropLast() : line)) }
            .joined(separator: "\r\n")
        return MessageHeader.Field(name: name, rawValue: leadingSpace ? crlf : " " + crlf)
    }

    static func parameters(_ text: String?) -> [ESMTPParameter] {
        (text ?? "").split(separator: " ").map { word in
            let parts = word.split(separator: "=", maxSplits: 1)
            return ESMTPParameter(keyword: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : nil)
        }
    }
}

extension NoteKey {
    /// A milter asked for the message to be quarantined; the value is its reason.
    static var milterQuarantine: NoteKey<String> { NoteKey<String>("quarantine") }
}

extension String {
    fileprivate var trimmingAngleBrackets: String {
        hasPrefix("<") && hasSuffix(">") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}
