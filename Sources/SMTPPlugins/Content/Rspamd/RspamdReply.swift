import FoundationEssentials
import SMTPPluginAPI

/// rspamd's JSON answer to `/checkv2`, the parts the plugin acts on: the verdict (action, score,
/// required score, symbols), the header changes it asks an MTA to make (`milter.add_headers`,
/// `milter.remove_headers`), the rewritten `subject`, and the `messages.smtp_message` text for
/// the SMTP reply.
struct RspamdReply: Sendable, Equatable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A field to add: `order` is where it goes among the fields (0 = first), nil = at the end.
    struct AddedField: Sendable, Equatable {
        var name: String
        var value: String
        var order: Int?
    }

    /// A field to remove: `occurrence` 0 removes every field of that name, N > 0 the N-th,
    /// N < 0 counts from the last (rspamd's milter convention).
    struct RemovedField: Sendable, Equatable {
        var name: String
        var occurrence: Int
    }

    var result: RspamdResult
    var addHeaders: [AddedField] = []
    var removeHeaders: [RemovedField] = []
    var subject: String?
    var smtpMessage: String?

    /// Parses the body of a 200 answer. Without an action and a score it is not rspamd's verdict.
    static func parse(_ body: [UInt8]) throws -> RspamdReply {
        let json: RspamdJSON
        do {
            json = try JSONDecoder().decode(RspamdJSON.self, from: Data(body))
        } catch {
            throw Failure(description: "rspamd's answer is not JSON: '\(String(decoding: body.prefix(120), as: UTF8.self))'")
        }
        guard let action = json["action"]?.string, let score = json["score"]?.number else {
            throw Failure(description: "rspamd's answer has no action and score: '\(String(decoding: body.prefix(120), as: UTF8.self))'")
        }
        var symbols: [String: Double] = [:]
        for (name, symbol) in json["symbols"]?.object ?? [:] {
            symbols[name] = symbol["score"]?.number ?? 0
        }
        var reply = RspamdReply(
            result: RspamdResult(action: action, score: score, requiredScore: json["required_score"]?.number, symbols: symbols))
        reply.subject = json["subject"]?.string
        reply.smtpMessage = json["messages"]?["smtp_message"]?.string
        if let milter = json["milter"] {
            reply.addHeaders = addedFields(milter["add_headers"])
            reply.removeHeaders = (milter["remove_headers"]?.object ?? [:])
                .map { RemovedField(name: $0.key, occurrence: Int($0.value.number ?? 0)) }
                .sorted { $0.name < $1.name }
        }
        return reply
    }

    /// `{"X-A": "v"}`, `{"X-A": {"value": "v", "order": 0}}`, `{"X-A": ["v1", {"value": "v2"}]}`,
    /// in name order (JSON objects have none of their own) so the result is the same every time.
    static func addedFields(_ json: RspamdJSON?) -> [AddedField] {
        var fields: [AddedField] = []
        for (name, spec) in (json?.object ?? [:]).sorted(by: { $0.key < $1.key }) {
            let entries: [RspamdJSON]
            if case .array(let list) = spec { entries = list } else { entries = [spec] }
            for entry in entries {
                if let value = entry.string {
                    fields.append(AddedField(name: name, value: value, order: nil))
                } else if let value = entry["value"]?.string {
                    fields.append(AddedField(name: name, value: value, order: entry["order"]?.number.map { Int($0) }))
                }
            }
        }
        return fields
    }
}
