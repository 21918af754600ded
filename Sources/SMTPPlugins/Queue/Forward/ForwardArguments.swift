import SMTPPluginAPI

/// The words of `queue/smtp-forward host [port] [xclient] [proxy] [tls_verify none|system|PATH]`
/// and `queue/lmtp host [port] | /path/to/socket [tls_verify …]`.
struct ForwardArguments: Sendable, Hashable {
    var endpoint: OutboundEndpoint
    var xclient = false
    var proxy = false
    var tls = DownstreamTLS.opportunistic

    /// Words every plugin understands (PluginPolicy reads them), skipped here with their value.
    private static let sharedKeys: Set<String> = ["timeout", "loglevel", "reject", "reject_type"]

    /// `flags`: the bare words this plugin accepts (`xclient`, `proxy`). A path as host (for
    /// LMTP) is a UNIX socket when `allowsSocket`.
    init(_ arguments: PluginArguments, defaultPort: Int, flags: Set<String>, allowsSocket: Bool) throws {
        var words = arguments.words[...]
        guard let host = words.popFirst(), !host.isEmpty, !Self.sharedKeys.contains(host), !flags.contains(host), host != "tls_verify" else {
            throw PluginArgumentError("No host specified in plugin config")
        }
        var port: Int?
        if let word = words.first, word.allSatisfy(\.isNumber) {
            guard let number = Int(word), (1...65535).contains(number) else {
                throw PluginArgumentError("port must be a number from 1 to 65535, not '\(word)'")
            }
            port = number
            words.removeFirst()
        }
        if host.hasPrefix("/") {
            guard allowsSocket else { throw PluginArgumentError("'\(host)' is not a host name") }
            guard port == nil else { throw PluginArgumentError("a UNIX socket takes no port") }
            endpoint = .unix(path: host)
        } else {
            endpoint = .tcp(host: host, port: port ?? defaultPort)
        }
        while let word = words.popFirst() {
            switch word {
            case "xclient" where flags.contains(word): xclient = true
            case "proxy" where flags.contains(word): proxy = true
            case "tls_verify":
                guard let value = words.popFirst() else { throw PluginArgumentError("tls_verify needs none, system or a CA file path") }
                switch value {
                case "none": tls = .opportunistic
                case "system": tls = .verified(.systemRoots)
                case let path where path.hasPrefix("/"): tls = .verified(.caFile(path))
                default: throw PluginArgumentError("tls_verify must be none, system or an absolute CA file path, not '\(value)'")
                }
            case let key where Self.sharedKeys.contains(key):
                _ = words.popFirst()
            default:
                throw PluginArgumentError("unknown argument '\(word)'")
            }
        }
        if case .verified = tls, case .unix = endpoint {
            throw PluginArgumentError("tls_verify needs a TCP server, not a UNIX socket")
        }
    }
}
