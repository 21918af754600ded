#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI

/// The `spamassassin` line's arguments (qpsmtpd's `key value` pairs).
struct SpamAssassinSettings: Sendable {
    enum Reject: Sendable, Hashable {
        /// Never refuse on the score (qpsmtpd's default): headers and the note only.
        case never
        /// Refuse at or above this score.
        case atScore(Double)
        /// Refuse what spamd's own `required` (the user's preference) calls spam.
        case userPrefs
    }

    /// What happens to X-Spam-* fields an earlier server added.
    enum OldHeaders: String, Sendable {
        case drop, rename, keep
    }

    var endpoint: OutboundEndpoint = .tcp(host: "localhost", port: 783)
    var reject: Reject = .never
    var mungeSubjectThreshold: Double?
    /// From the line; else the `subject_prefix` config file; else qpsmtpd's `*** SPAM ***`.
    var subjectPrefix = "*** SPAM ***"
    /// `headers none`: keep the verdict in the note only.
    var addHeaders = true
    var oldHeaders: OldHeaders = .rename
    /// `spamd_user`; nil sends the user the daemon runs as when it scans (as spamc would), which
    /// is the `--user` it dropped to, not the root that loaded the plugins.
    var spamdUser: String?
    /// `relayclient skip`: relay clients' mail is not scored.
    var skipRelayClients = false
    /// Larger messages are not scanned (qpsmtpd's 500,000 bytes).
    var sizeLimit = 500_000
    /// `defer_on_error yes`: a spamd that cannot be reached or answers badly defers the message
    /// (451) instead of letting it through unscored, qpsmtpd's behaviour.
    var deferOnError = false

    static let options = [
        "reject", "reject_threshold", "munge_subject_threshold", "subject_prefix", "spamd_socket", "headers",
        "leave_old_headers", "spamd_user", "relayclient", "size_limit", "defer_on_error", "reject_type", "timeout", "loglevel",
    ]

    init(_ arguments: PluginArguments, config: any ConfigStore) throws {
        let options = try ScannerOptions(arguments.words[...], plugin: "spamassassin")
        for (key, value) in options.pairs {
            switch key {
            case "reject", "reject_threshold":  // reject_threshold: qpsmtpd's older name
                if value.lowercased() == "userprefs" {
                    reject = .userPrefs
                } else if let score = Double(value) {
                    reject = score > 0 ? .atScore(score) : .never
                } else {
                    throw PluginArgumentError("reject must be a score or userprefs, not '\(value)'")
                }
            case "munge_subject_threshold":
                guard let score = Double(value) else {
                    throw PluginArgumentError("munge_subject_threshold must be a score, not '\(value)'")
                }
                mungeSubjectThreshold = score
            case "subject_prefix":
                subjectPrefix = value
            case "spamd_socket":
                endpoint = try ScannerEndpoint.parse(value, defaultPort: 783, argument: "spamd_socket")
            case "headers":
                try ScannerOptions.requireWord("none", value, key)
                addHeaders = false
            case "leave_old_headers":
                guard let action = OldHeaders(rawValue: value.lowercased()) else {
                    throw PluginArgumentError("leave_old_headers must be drop, rename or keep, not '\(value)'")
                }
                oldHeaders = action
            case "spamd_user":
                guard !value.isEmpty, !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                    throw PluginArgumentError("spamd_user must be a user name")
                }
                spamdUser = value
            case "relayclient":
                try ScannerOptions.requireWord("skip", value, key)
                skipRelayClients = true
            case "size_limit":
                sizeLimit = try ScannerOptions.positiveNumber(value, key, unit: "bytes")
            case "defer_on_error":
                deferOnError = try ScannerOptions.flag(value, key)
            case "reject_type", "timeout", "loglevel":
                break  // the engine's (PluginPolicy)
            default:
                throw options.unknown(key, known: Self.options)
            }
        }
        if !arguments.words.contains("subject_prefix"), let configured = config.value("subject_prefix"), !configured.isEmpty {
            subjectPrefix = configured
        }
    }

    /// The effective user's name, as spamc sends it when not told otherwise (getpwuid_r: hooks
    /// run on many threads at once).
    static func processUser() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        return buffer.withUnsafeMutableBufferPointer { storage in
            // The name points into `storage`, so it is read inside this closure.
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            guard let base = storage.baseAddress else { return "nobody" }
            let status = getpwuid_r(geteuid(), &entry, base, storage.count, &found)
            guard status == 0, found != nil, let name = entry.pw_name else { return "nobody" }
            return String(cString: name)
        }
    }
}
