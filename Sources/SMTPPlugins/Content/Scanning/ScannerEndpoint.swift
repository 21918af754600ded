import SMTPPluginAPI

/// Where a scanning daemon listens, as qpsmtpd's arguments write it: a path (anything with a `/`)
/// is a UNIX socket, `host:port` is TCP.
enum ScannerEndpoint {
    /// `word` as an endpoint; `defaultPort` completes a bare host name.
    static func parse(_ word: String, defaultPort: Int? = nil, argument: String) throws -> OutboundEndpoint {
        if word.contains("/") { return .unix(path: word) }
        // The last colon splits, so a bracketed IPv6 address keeps its own colons.
        if let colon = word.lastIndex(of: ":") {
            var host = String(word[..<colon])
            let portText = word[word.index(after: colon)...]
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
                throw PluginArgumentError("\(argument) must be a socket path or host:port, not '\(word)'")
            }
            return .tcp(host: host, port: port)
        }
        guard let port = defaultPort, !word.isEmpty else {
            throw PluginArgumentError("\(argument) must be a socket path or host:port, not '\(word)'")
        }
        return .tcp(host: word, port: port)
    }
}
