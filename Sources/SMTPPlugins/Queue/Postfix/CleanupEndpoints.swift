import SMTPPluginAPI

/// Where Postfix's cleanup service listens, chosen as qpsmtpd chooses: the `POSTFIXQUEUE`
/// environment variable, else the lines of the config file `cleanup_sockets`, else the socket on
/// the plugin line, else `/var/spool/postfix/public/cleanup`. Each is a UNIX socket path
/// (starting with `/`) or `host:port` (a cleanup service in master.cf as `inet`); with several
/// `cleanup_sockets` lines the first that accepts the connection takes the message.
enum CleanupEndpoints {
    static let defaultSocket = "/var/spool/postfix/public/cleanup"

    static func choose(environment: String?, configured: [ConfigLine], argument: String?) throws -> [OutboundEndpoint] {
        if let environment, !environment.isEmpty {
            guard let endpoint = parse(environment) else {
                throw PluginArgumentError("POSTFIXQUEUE '\(environment)' is neither a socket path nor host:port")
            }
            return [endpoint]
        }
        if !configured.isEmpty {
            return try configured.map { line in
                guard let endpoint = parse(line.text) else {
                    throw PluginArgumentError("\(line.file):\(line.lineNumber): '\(line.text)' is neither a socket path nor host:port")
                }
                return endpoint
            }
        }
        if let argument {
            guard let endpoint = parse(argument) else {
                throw PluginArgumentError("'\(argument)' is neither a socket path nor host:port")
            }
            return [endpoint]
        }
        return [.unix(path: defaultSocket)]
    }

    /// `/path`, `host:port` or `[v6 address]:port`; nil for anything else.
    static func parse(_ text: String) -> OutboundEndpoint? {
        if text.hasPrefix("/") { return text.count > 1 ? .unix(path: text) : nil }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = Substring(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil  // an IPv6 address needs its brackets, or the port is ambiguous
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "\t" || $0 == "/" }) else { return nil }
        return .tcp(host: String(host), port: port)
    }

    /// Whether a plugin-line word is meant as the socket rather than a flag.
    static func looksLikeEndpoint(_ word: String) -> Bool {
        word.hasPrefix("/") || (!word.hasPrefix("FLAG_") && word.contains(":"))
    }
}
