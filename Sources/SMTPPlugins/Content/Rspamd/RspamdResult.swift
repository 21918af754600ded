public import SMTPPluginAPI

/// rspamd's verdict on a message, kept in the transaction note `rspamd` for other plugins
/// (karma, naughty, a later queue), as the spamassassin plugin keeps spamd's.
public struct RspamdResult: Sendable, Hashable {
    /// rspamd's action as it names it: `no action`, `greylist`, `add header`, `rewrite subject`,
    /// `soft reject`, `reject` (or a site's custom action).
    public var action: String
    public var score: Double
    /// The score rspamd rejects at (its `reject` threshold), when it said.
    public var requiredScore: Double?
    /// Every symbol that matched, with the score it added.
    public var symbols: [String: Double]

    public init(action: String, score: Double, requiredScore: Double?, symbols: [String: Double] = [:]) {
        self.action = action
        self.score = score
        self.requiredScore = requiredScore
        self.symbols = symbols
    }

    /// rspamd's actions past `greylist` mean "spam"; karma and naughty count these.
    public var isSpam: Bool {
        ["add header", "rewrite subject", "soft reject", "reject"].contains(action)
    }
}

extension NoteKey {
    /// rspamd's verdict (the `rspamd` plugin's), for karma, naughty and others.
    public static var rspamd: NoteKey<RspamdResult> { NoteKey<RspamdResult>("rspamd") }
}
