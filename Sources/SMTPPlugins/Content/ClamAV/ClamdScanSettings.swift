import SMTPPluginAPI

/// `virus/clamdscan`'s arguments (qpsmtpd's `key value` pairs).
struct ClamdScanSettings: Sendable {
    /// Debian's clamd socket (ClamAV::Client's default reads it from clamd.conf).
    var endpoint: OutboundEndpoint = .unix(path: "/var/run/clamav/clamd.ctl")
    /// `deny_viruses no` adds X-Virus-Found/X-Virus-Details instead of refusing.
    var denyViruses = true
    /// `defer_on_error yes`: a scan that fails defers the message (451) instead of passing it.
    var deferOnError = false
    /// Larger messages are not scanned; qpsmtpd counts kilobytes (default 128).
    var maxSize = 128 * 1024
    /// Without `scan_all`, only multipart messages (those with attachments) are scanned.
    var scanAll = false

    init(_ arguments: PluginArguments) throws {
        var words = arguments.words[...]
        var socket: String?
        var host: String?
        var port: Int?
        while let key = words.popFirst() {
            guard let value = words.popFirst() else {
                throw PluginArgumentError("'\(key)' needs a value (virus/clamdscan takes 'option value' pairs)")
            }
            switch key {
            case "clamd_socket": socket = value
            case "clamd_host": host = value
            case "clamd_port":
                guard let number = Int(value), (1...65535).contains(number) else {
                    throw PluginArgumentError("clamd_port must be a number from 1 to 65535, not '\(value)'")
                }
                port = number
            case "deny_viruses": denyViruses = try Self.yesNo(value, key)
            case "defer_on_error": deferOnError = try Self.yesNo(value, key)
            case "scan_all": scanAll = try Self.yesNo(value, key)
            case "max_size":
                guard let kilobytes = Int(value), kilobytes > 0 else {
                    throw PluginArgumentError("max_size must be a positive number of kilobytes, not '\(value)'")
                }
                maxSize = kilobytes * 1024
            case "timeout", "loglevel":
                break  // the engine's (PluginPolicy)
            default:
                throw PluginArgumentError("unknown virus/clamdscan option '\(key)'")
            }
        }
        // As qpsmtpd: a port means TCP and wins over the socket.
        if let port {
            endpoint = .tcp(host: host ?? "127.0.0.1", port: port)
        } else if let socket {
            endpoint = try ScannerEndpoint.parse(socket, argument: "clamd_socket")
        }
    }

    /// qpsmtpd's flags: `no` and `0` are off, any other word is on.
    static func yesNo(_ value: String, _ key: String) throws -> Bool {
        switch value.lowercased() {
        case "no", "0", "off", "false": return false
        case "yes", "1", "on", "true": return true
        default: throw PluginArgumentError("\(key) must be yes or no, not '\(value)'")
        }
    }
}
