import SMTPPluginAPI

/// The `rspamd` line's arguments: an optional endpoint first (`HOST:PORT`, `HOST`, or a UNIX
/// socket path), then `option value` pairs.
struct RspamdSettings: Sendable, Equatable {
    /// Which summary fields the plugin writes besides rspamd's own milter headers.
    enum Headers: String, Sendable {
        /// None: rspamd's `milter.add_headers` and the action's changes only.
        case none
        /// `X-Spam-Flag: YES` for spam and `X-Spam-Status: Yes|No, score=S required=R action=A`.
        case status
        /// The status fields and `X-Spam-Symbols`, every symbol rspamd matched with its score.
        case symbols
    }

    /// rspamd's normal worker (`/checkv2`), as Debian's package binds it.
    var endpoint: OutboundEndpoint = .tcp(host: "127.0.0.1", port: 11333)
    /// `defer_on_error yes`: an rspamd that cannot be reached or answers badly defers the message
    /// (451 4.7.1) instead of letting it through unscanned.
    var deferOnError = false
    /// Larger messages are not scanned (bytes).
    var maxSize = 20 * 1024 * 1024
    /// `relayclient skip`: relay clients' mail (AUTH users among them) is not scanned.
    var skipRelayClients = false
    var headers: Headers = .status
    /// The field the `add header` action sets to `Yes` (rspamd's milter `spam_header`).
    var spamHeader = "X-Spam"
    /// `milter_headers no`: ignore rspamd's `milter.add_headers` / `remove_headers`.
    var applyMilterHeaders = true
    /// How long a (client, sender, recipient) triplet refused for rspamd's `greylist` action must
    /// wait before a retry passes; the greylisting plugin's grey and white periods apply after it.
    var greylistDelay = 5 * 60

    static let options = [
        "defer_on_error", "max_size", "relayclient", "headers", "spam_header", "milter_headers",
        "greylist_delay", "rspamd_socket", "timeout", "loglevel", "reject_type",
    ]

    init(_ arguments: PluginArguments) throws {
        var words = arguments.words[...]
        // An endpoint comes first when the first word is no option name (qpsmtpd-style pairs follow).
        if let first = words.first, !Self.options.contains(first) {
            endpoint = try Self.endpoint(first)
            words = words.dropFirst()
        }
        let options = try ScannerOptions(words, plugin: "rspamd")
        for (key, value) in options.pairs {
            switch key {
            case "rspamd_socket": endpoint = try Self.endpoint(value)
            case "defer_on_error": deferOnError = try ScannerOptions.flag(value, key)
            case "max_size": maxSize = try ScannerOptions.positiveNumber(value, key, unit: "bytes")
            case "relayclient":
                try ScannerOptions.requireWord("skip", value, key)
                skipRelayClients = true
            case "headers":
                guard let choice = Headers(rawValue: value.lowercased()) else {
                    throw PluginArgumentError("headers must be none, status or symbols, not '\(value)'")
                }
                headers = choice
            case "spam_header":
                guard Self.isFieldName(value) else {
                    throw PluginArgumentError("spam_header must be a header field name, not '\(value)'")
                }
                spamHeader = value
            case "milter_headers": applyMilterHeaders = try ScannerOptions.flag(value, key)
            case "greylist_delay":
                guard let seconds = Int(value), seconds >= 0 else {
                    throw PluginArgumentError("greylist_delay must be a whole number of seconds, not '\(value)'")
                }
                greylistDelay = seconds
            case "timeout", "loglevel", "reject_type":
                break  // the engine's (PluginPolicy)
            default:
                throw options.unknown(key, known: Self.options)
            }
        }
    }

    /// rspamd's port when only a host is given.
    static func endpoint(_ word: String) throws -> OutboundEndpoint {
        try ScannerEndpoint.parse(word, defaultPort: 11333, argument: "rspamd's address")
    }

    /// RFC 5322 field names: printable ASCII except the colon.
    static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }
    }
}
