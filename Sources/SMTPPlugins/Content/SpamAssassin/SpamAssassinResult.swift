public import SMTPPluginAPI

/// spamd's verdict on a message, kept in the transaction note `spamassassin` for other plugins
/// (karma, naughty, a later queue), as qpsmtpd keeps the parsed X-Spam-Status.
public struct SpamAssassinResult: Sendable, Hashable {
    public var isSpam: Bool
    public var score: Double
    /// The score spamd calls spam at (the user's preference when spamd reads per-user settings).
    public var required: Double?
    /// The other `key=value` words of X-Spam-Status: `tests`, `autolearn`, `version`, ...
    public var details: [String: String]

    public init(isSpam: Bool, score: Double, required: Double?, details: [String: String] = [:]) {
        self.isSpam = isSpam
        self.score = score
        self.required = required
        self.details = details
    }

    /// Parses an X-Spam-Status value: `Yes, score=1000.0 required=5.0 tests=GTUBE,NO_RECEIVED`
    /// (`hits=` in SpamAssassin before 3.0). A folded tests list continues the previous word.
    public static func parse(status: String) -> SpamAssassinResult? {
        let words = status.split(whereSeparator: \.isWhitespace)
        guard let first = words.first else { return nil }
        let flag = first.hasSuffix(",") ? first.dropLast() : first
        guard flag.lowercased() == "yes" || flag.lowercased() == "no" else { return nil }
        var details: [String: String] = [:]
        var lastKey: String?
        for word in words.dropFirst() {
            if let equals = word.firstIndex(of: "=") {
                let key = String(word[..<equals])
                details[key] = String(word[word.index(after: equals)...])
                lastKey = key
            } else if let key = lastKey {
                details[key, default: ""] += word
            }
        }
        guard let score = (details.removeValue(forKey: "score") ?? details.removeValue(forKey: "hits")).flatMap(Double.init) else {
            return nil
        }
        let required = details.removeValue(forKey: "required").flatMap(Double.init)
        return SpamAssassinResult(isSpam: flag.lowercased() == "yes", score: score, required: required, details: details)
    }
}

extension NoteKey {
    /// spamd's verdict (the `spamassassin` plugin's), for karma, naughty and others.
    public static var spamAssassin: NoteKey<SpamAssassinResult> { NoteKey<SpamAssassinResult>("spamassassin") }
}
