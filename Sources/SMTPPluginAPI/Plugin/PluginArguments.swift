/// A plugin's words from its `config/plugins` line, with the arguments every plugin shares
/// (`reject`, `reject_type`, `loglevel`) understood here once.
public struct PluginArguments: Sendable, Hashable {
    /// The words after the plugin name, as written.
    public var words: [String]

    public init(_ words: [String]) { self.words = words }

    /// The word after `key` in `key value` pairs (qpsmtpd's `%args`), case-sensitive on the key.
    public subscript(key: String) -> String? {
        var i = 0
        while i < words.count - 1 {
            if words[i] == key { return words[i + 1] }
            i += 1
        }
        return nil
    }

    /// Whether `key` appears as a word.
    public func contains(_ key: String) -> Bool { words.contains(key) }

    /// The `n`th positional word.
    public func positional(_ n: Int) -> String? { n < words.count ? words[n] : nil }

    /// The one optional positional number of plugins such as `loop 100` or `noop_counter 3`:
    /// `fallback` when absent; a second word, or a number below 1, is refused naming `what`.
    public func onlyPositiveNumber(_ what: String, default fallback: Int) throws -> Int {
        guard words.count <= 1 else {
            throw PluginArgumentError("this plugin takes one number, \(what), not '\(words.joined(separator: " "))'")
        }
        guard let word = words.first else { return fallback }
        guard let n = Int(word), n > 0 else {
            throw PluginArgumentError("\(what) must be a positive number, not '\(word)'")
        }
        return n
    }

    /// `reject 0|1|naughty`.
    public enum Reject: String, Sendable, Hashable { case no = "0", yes = "1", naughty }

    public func reject(default fallback: Reject) throws -> Reject {
        try reject(default: Optional(fallback))!
    }

    func reject(default fallback: Reject?) throws -> Reject? {
        guard let raw = self["reject"] else { return fallback }
        guard let value = Reject(rawValue: raw.lowercased()) else {
            throw PluginArgumentError("reject must be 0, 1 or naughty, not '\(raw)'")
        }
        return value
    }

    /// `reject_type perm|hard|temp|soft|disconnect|temp_disconnect`.
    public enum RejectType: String, Sendable, Hashable {
        case perm, temp, disconnect, tempDisconnect = "temp_disconnect"

        /// The hook result this rejection type gives for `message`.
        public func result(_ message: String) -> HookResult {
            switch self {
            case .perm: return .deny(message)
            case .temp: return .denySoft(message)
            case .disconnect: return .denyDisconnect(message)
            case .tempDisconnect: return .denySoftDisconnect(message)
            }
        }
    }

    public func rejectType(default fallback: RejectType) throws -> RejectType {
        try rejectType(default: Optional(fallback))!
    }

    func rejectType(default fallback: RejectType?) throws -> RejectType? {
        guard let raw = self["reject_type"]?.lowercased() else { return fallback }
        switch raw {
        case "perm", "hard": return .perm
        case "temp", "soft": return .temp
        case "disconnect": return .disconnect
        case "temp_disconnect": return .tempDisconnect
        default: throw PluginArgumentError("reject_type must be perm, temp, disconnect or temp_disconnect, not '\(raw)'")
        }
    }
}

/// A plugin refused its arguments; start-up stops with the file, line and this message.
public struct PluginArgumentError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
