import SMTPPluginAPI

/// `virus/clamav`'s arguments, qpsmtpd's `name=value` words (and, for old lines, a first word
/// that is the scanner's path).
struct ClamAVCommandSettings: Sendable {
    enum Action: String, Sendable {
        case addHeader = "add-header"
        case reject
    }

    /// clamdscan by default: it asks the running clamd, and Debian installs it here.
    var scannerPath = "/usr/bin/clamdscan"
    /// `clamd_conf=`: passed to clamdscan as `--config-file`; clamdscan's own default otherwise.
    var clamdConfig: String?
    var action: Action = .addHeader
    /// Larger messages are not scanned (qpsmtpd: 524,288 bytes).
    var maxSize = 512 * 1024
    /// qpsmtpd defers when the scanner fails; `declined_on_fail` lets the message through.
    var declineOnFailure = false

    init(_ arguments: PluginArguments) throws {
        var words = arguments.words[...]
        if let first = words.first, first.hasPrefix("/"), !first.contains("=") {
            scannerPath = try Self.path(first, "the scanner path")
            words.removeFirst()
        }
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1)
            let key = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : nil
            switch (key, value) {
            case ("clamscan_path", let value?): scannerPath = try Self.path(value, key)
            case ("clamd_conf", let value?): clamdConfig = try Self.path(value, key)
            case ("tmp_dir", _?):
                break  // the message is streamed to the scanner's stdin: no temporary file
            case ("max_size", let value?):
                guard let bytes = Int(value), bytes > 0 else {
                    throw PluginArgumentError("max_size must be a positive number of bytes, not '\(value)'")
                }
                maxSize = bytes
            case ("action", let value?):
                guard let action = Action(rawValue: value) else {
                    throw PluginArgumentError("action must be add-header or reject, not '\(value)'")
                }
                self.action = action
            case ("back_compat", _):
                break  // options for ClamAV before 0.80, which no supported ClamAV needs
            case ("declined_on_fail", _):
                declineOnFailure = true
            case ("timeout", _), ("loglevel", _):
                break
            default:
                throw PluginArgumentError("unrecognized argument '\(word)' to virus/clamav")
            }
        }
    }

    /// qpsmtpd accepts only absolute paths of these characters, so nothing reaches a shell oddly.
    static func path(_ value: String, _ what: String) throws -> String {
        let allowed = value.hasPrefix("/") && value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            case UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): return true
            default: return false
            }
        }
        guard allowed else { throw PluginArgumentError("\(what) must be an absolute path of letters, digits, '/', '-', '_' and '.', not '\(value)'") }
        return value
    }
}
