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

    static let options = [
        "clamd_socket", "clamd_host", "clamd_port", "deny_viruses", "defer_on_error", "scan_all", "max_size", "timeout", "loglevel",
    ]

    init(_ arguments: PluginArguments) throws {
        let options = try ScannerOptions(arguments.words[...], plugin: "virus/clamdscan")
        var socket: String?
        var host: String?
        var port: Int?
        for (key, value) in options.pairs {
            switch key {
            case "clamd_socket": socket = value
            case "clamd_host": host = value
            case "clamd_port":
                guard let number = Int(value), (1...65535).contains(number) else {
                    throw PluginArgumentError("clamd_port must be a number from 1 to 65535, not '\(value)'")
                }
                port = number
            case "deny_viruses": denyViruses = try ScannerOptions.flag(value, key)
            case "defer_on_error": deferOnError = try ScannerOptions.flag(value, key)
            case "scan_all": scanAll = try ScannerOptions.flag(value, key)
            case "max_size": maxSize = try ScannerOptions.positiveNumber(value, key, unit: "kilobytes") * 1024
            case "timeout", "loglevel":
                break  // the engine's (PluginPolicy)
            default:
                throw options.unknown(key, known: Self.options)
            }
        }
        // As qpsmtpd: a port means TCP and wins over the socket.
        if let port {
            endpoint = .tcp(host: host ?? "127.0.0.1", port: port)
        } else if let socket {
            endpoint = try ScannerEndpoint.parse(socket, argument: "clamd_socket")
        }
    }
}
