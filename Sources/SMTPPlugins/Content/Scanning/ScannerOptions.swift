import SMTPPluginAPI

/// The `option value` pairs a scanner's line carries after its name (qpsmtpd's style), read in
/// order with the checks every scanner needs: each option has a value, flags are yes/no,
/// sizes are positive numbers.
struct ScannerOptions {
    let plugin: String
    private(set) var pairs: [(key: String, value: String)] = []

    init(_ words: ArraySlice<String>, plugin: String) throws {
        self.plugin = plugin
        var rest = words
        while let key = rest.popFirst() {
            guard let value = rest.popFirst() else {
                throw PluginArgumentError("'\(key)' needs a value (\(plugin) takes 'option value' pairs)")
            }
            pairs.append((key, value))
        }
    }

    /// `yes`/`no` (also `1`/`0`, `on`/`off`, `true`/`false`).
    static func flag(_ value: String, _ key: String) throws -> Bool {
        switch value.lowercased() {
        case "no", "0", "off", "false": return false
        case "yes", "1", "on", "true": return true
        default: throw PluginArgumentError("\(key) must be yes or no, not '\(value)'")
        }
    }

    static func positiveNumber(_ value: String, _ key: String, unit: String) throws -> Int {
        guard let number = Int(value), number > 0 else {
            throw PluginArgumentError("\(key) must be a positive number of \(unit), not '\(value)'")
        }
        return number
    }

    /// Options that take one word only (`relayclient skip`, `headers none`): anything else is a mistake.
    static func requireWord(_ word: String, _ value: String, _ key: String) throws {
        guard value.lowercased() == word else {
            throw PluginArgumentError("\(key) takes '\(word)' only, not '\(value)'")
        }
    }

    /// The error for an option the plugin does not know, listing the ones it does.
    func unknown(_ key: String, known: [String]) -> PluginArgumentError {
        PluginArgumentError("unknown \(plugin) option '\(key)' (it takes \(known.joined(separator: ", ")))")
    }
}
