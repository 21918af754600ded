import SMTPPluginAPI

/// What spamd answered to `HEADERS` or `SYMBOLS`: the status line (`SPAMD/1.1 0 EX_OK`), the
/// `Spam:` verdict line (`True ; 1000.0 / 5.0`), and the X-Spam-* fields of the message header it
/// returned (HEADERS) or the names of the rules that hit (SYMBOLS).
struct SpamdReply: Sendable, Hashable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The `Spam:` line: whether spamd calls it spam, its score and the required score.
    var verdict: Verdict?
    /// The X-Spam-* fields in spamd's order, folding kept (CRLF plus the continuation line).
    var fields: [MessageHeader.Field]
    /// SYMBOLS only: the rules that hit, in spamd's order.
    var symbols: [String]? = nil

    struct Verdict: Sendable, Hashable {
        var isSpam: Bool
        var score: Double
        var required: Double
    }

    /// `SPAMD/1.x 0 EX_OK`; any other code is spamd refusing the request.
    static func checkStatusLine(_ line: String) throws {
        let words = line.split(separator: " ", maxSplits: 2)
        guard words.count >= 2, words[0].hasPrefix("SPAMD/") else {
            throw Failure(description: "not a spamd reply: '\(line.prefix(120))'")
        }
        guard words[1] == "0" else {
            throw Failure(description: "spamd refused: '\(line.prefix(120))'")
        }
    }

    /// `True ; 15.0 / 5.0` (the value of the `Spam:` response header).
    static func parseVerdict(_ value: String) -> Verdict? {
        let parts = value.split(separator: ";", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let flag = String(parts[0]).trimmingSpacesAndTabs().lowercased()
        let numbers = parts[1].split(separator: "/").map { Double(String($0).trimmingSpacesAndTabs()) }
        guard flag == "true" || flag == "yes" || flag == "false" || flag == "no",
              numbers.count == 2, let score = numbers[0], let required = numbers[1]
        else { return nil }
        return Verdict(isSpam: flag == "true" || flag == "yes", score: score, required: required)
    }

    /// SYMBOLS' body: rule names separated by commas (`GTUBE,MISSING_DATE`), maybe a line end.
    static func symbols(in text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }

    /// The X-Spam-* fields of a returned header block (CRLF or LF lines). Other fields (the
    /// message's own, which spamd sends back with `HEADERS`) are left out, as qpsmtpd does.
    static func spamFields(in block: String) -> [MessageHeader.Field] {
        var fields: [MessageHeader.Field] = []
        var current: MessageHeader.Field?
        var currentIsSpam = false
        for scalars in block.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            // Split on scalars: "\r\n" is one Character and would never equal "\n".
            let rawLine = Substring(scalars)
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty { break }  // end of the header block
            if line.first == " " || line.first == "\t" {
                if currentIsSpam { current?.rawValue += "\r\n" + line }
                continue
            }
            if let field = current, currentIsSpam { fields.append(field) }
            current = nil
            currentIsSpam = false
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            currentIsSpam = name.lowercased().hasPrefix("x-spam-")
            current = MessageHeader.Field(name: name, rawValue: String(line[line.index(after: colon)...]))
        }
        if let field = current, currentIsSpam { fields.append(field) }
        return fields
    }
}
