import SMTPPluginAPI

/// The `key value` words of a DNS plugin's line (qpsmtpd reads them into `%args`), checked at load
/// so a misspelt key or a bad value stops the (re)load instead of being silently ignored.
struct KeyValueArguments {
    let arguments: PluginArguments
    let plugin: String

    /// Refuses keys outside `known` (the common `timeout`, `reject`, `reject_type`, `loglevel`
    /// are always known) and bad `reject`, `reject_type`, `timeout` and `loglevel` values, which the engine's
    /// common parsing would otherwise drop without a word.
    init(_ arguments: PluginArguments, plugin: String, known: Set<String>) throws {
        self.arguments = arguments
        self.plugin = plugin
        let common: Set<String> = ["timeout", "reject", "reject_type", "loglevel"]
        let words = arguments.words
        guard words.count % 2 == 0 else {
            throw PluginArgumentError("\(plugin) takes 'key value' pairs; '\(words.last ?? "")' has no value")
        }
        for index in stride(from: 0, to: words.count, by: 2) where !known.contains(words[index]) && !common.contains(words[index]) {
            let all = (known.union(common)).sorted().joined(separator: ", ")
            throw PluginArgumentError("\(plugin) has no argument '\(words[index])' (it takes \(all))")
        }
        _ = try arguments.reject(default: .yes)
        _ = try arguments.rejectType(default: .perm)
        if arguments["timeout"] != nil { _ = try seconds("timeout") }
        if let level = arguments["loglevel"], Int(level.hasPrefix("+") ? String(level.dropFirst()) : level) == nil {
            throw PluginArgumentError("loglevel must be 0-7, +N or -N, not '\(level)'")
        }
    }

    subscript(key: String) -> String? { arguments[key] }

    /// A positive number of seconds (fractions allowed), or nil when the key is absent.
    func seconds(_ key: String) throws -> Duration? {
        guard let text = arguments[key] else { return nil }
        guard let value = Double(text), value > 0, value < 86_400 else {
            throw PluginArgumentError("\(key) must be a positive number of seconds, not '\(text)'")
        }
        return .milliseconds(Int64(value * 1000))
    }

    /// A positive whole number, or `fallback` when the key is absent.
    func count(_ key: String, default fallback: Int) throws -> Int {
        guard let text = arguments[key] else { return fallback }
        guard let value = Int(text), value > 0 else {
            throw PluginArgumentError("\(key) must be a positive whole number, not '\(text)'")
        }
        return value
    }

    /// qpsmtpd's truth for flags such as `scan-headers 1`: anything but absent, empty or `0`;
    /// `yes`/`no` also read as words.
    func flag(_ key: String, default fallback: Bool) throws -> Bool {
        guard let text = arguments[key]?.lowercased() else { return fallback }
        switch text {
        case "1", "yes", "true", "on": return true
        case "0", "no", "false", "off": return false
        default: throw PluginArgumentError("\(key) must be yes or no (1 or 0), not '\(text)'")
        }
    }
}
