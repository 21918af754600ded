import SMTPPluginAPI

/// How rspamd's verdict goes into the message header: rspamd's own milter changes first
/// (`remove_headers`, then `add_headers` at their `order`), then the plugin's summary fields
/// (earlier ones of the same names, which an upstream server or the sender may have forged,
/// removed), the spam header for `add header`, and the rewritten subject.
enum RspamdHeaders {
    static func apply(
        _ reply: RspamdReply, decision: RspamdDecision, settings: RspamdSettings, to header: inout MessageHeader
    ) {
        if settings.applyMilterHeaders {
            for removal in reply.removeHeaders { remove(removal, from: &header) }
            for added in reply.addHeaders { insert(added, into: &header) }
        }
        guard case .pass(let markSpam, let subject) = decision else { return }
        if markSpam && reply.result.action == "add header" {
            header.remove(named: settings.spamHeader)
            header.prepend(settings.spamHeader, "Yes")
        }
        if let subject { replaceSubject(with: subject, in: &header) }
        guard settings.headers != .none else { return }
        for name in ["X-Spam-Flag", "X-Spam-Status", "X-Spam-Symbols"] { header.remove(named: name) }
        var summary: [MessageHeader.Field] = []
        if markSpam { summary.append(MessageHeader.Field(name: "X-Spam-Flag", value: "YES")) }
        summary.append(MessageHeader.Field(name: "X-Spam-Status", value: status(reply.result, isSpam: markSpam)))
        if settings.headers == .symbols, !reply.result.symbols.isEmpty {
            summary.append(MessageHeader.Field(name: "X-Spam-Symbols", value: symbols(reply.result.symbols)))
        }
        header.fields.insert(contentsOf: summary, at: 0)
    }

    /// `Yes, score=12.40 required=15.00 action=add header`
    static func status(_ result: RspamdResult, isSpam: Bool) -> String {
        var text = "\(isSpam ? "Yes" : "No"), score=\(format(result.score))"
        if let required = result.requiredScore { text += " required=\(format(required))" }
        return text + " action=\(result.action)"
    }

    /// `A(1.00),\n\tB(-0.10)`: sorted by name, one per line so long lists fold.
    static func symbols(_ symbols: [String: Double]) -> String {
        symbols.sorted { $0.key < $1.key }.map { "\($0.key)(\(format($0.value)))" }.joined(separator: ",\n\t")
    }

    /// Two decimals, without Foundation's formatters.
    static func format(_ value: Double) -> String {
        let hundredths = Int((abs(value) * 100).rounded())
        let fraction = hundredths % 100
        return "\(value < 0 && hundredths > 0 ? "-" : "")\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func remove(_ removal: RspamdReply.RemovedField, from header: inout MessageHeader) {
        let positions = header.fields.indices.filter { header.fields[$0].name.lowercased() == removal.name.lowercased() }
        if removal.occurrence == 0 {
            header.remove(named: removal.name)
        } else if removal.occurrence > 0, removal.occurrence <= positions.count {
            header.fields.remove(at: positions[removal.occurrence - 1])
        } else if removal.occurrence < 0, -removal.occurrence <= positions.count {
            header.fields.remove(at: positions[positions.count + removal.occurrence])
        }
    }

    static func insert(_ added: RspamdReply.AddedField, into header: inout MessageHeader) {
        guard RspamdSettings.isFieldName(added.name) else { return }
        let field = MessageHeader.Field(name: added.name, value: added.value)
        if let order = added.order {
            header.fields.insert(field, at: min(max(order, 0), header.fields.count))
        } else {
            header.fields.append(field)
        }
    }

    /// The Subject keeps its place; a message without one gets one at the end.
    static func replaceSubject(with subject: String, in header: inout MessageHeader) {
        let field = MessageHeader.Field(name: "Subject", value: subject)
        if let index = header.fields.firstIndex(where: { $0.name.lowercased() == "subject" }) {
            header.fields[index] = field
            header.fields = header.fields.enumerated()
                .filter { $0.offset == index || $0.element.name.lowercased() != "subject" }.map(\.element)
        } else {
            header.fields.append(field)
        }
    }
}
