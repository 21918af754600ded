import SMTPPluginAPI

/// The SOCKET word of a `milter` line: qpsmtpd's `[HOST:]PORT`, or Postfix's `smtpd_milters`
/// forms `inet:PORT@HOST`, `inet6:PORT@HOST`, `unix:/path` (`local:/path`), or a bare `/path`.
enum MilterEndpointAddress {
    static func parse(_ text: String) throws -> OutboundEndpoint {
        if let colon = text.firstIndex(of: ":"), ["inet", "inet6", "unix", "local"].contains(text[..<colon].lowercased()) {
            let kind = text[..<colon].lowercased()
            let rest = String(text[text.index(after: colon)...])
            if kind == "unix" || kind == "local" {
                guard rest.hasPrefix("/") else { throw PluginArgumentError("milter socket \(text): a UNIX socket needs an absolute path") }
                return .unix(path: rest)
            }
            let parts = rest.split(separator: "@", maxSplits: 1).map(String.init)
            let host = parts.count == 2 ? parts[1].trimming("[]") : "localhost"
            return .tcp(host: host, port: try port(parts[0], in: text))
        }
        if text.hasPrefix("/") { return .unix(path: text) }
        // [HOST:]PORT, with an IPv6 host in brackets.
        if let colon = text.lastIndex(of: ":") {
            let host = String(text[..<colon]).trimming("[]")
            return .tcp(host: host.isEmpty ? "localhost" : host, port: try port(String(text[text.index(after: colon)...]), in: text))
        }
        return .tcp(host: "localhost", port: try port(text, in: text))
    }

    private static func port(_ word: String, in text: String) throws -> Int {
        guard let port = Int(word), (1...65535).contains(port) else {
            throw PluginArgumentError("milter socket \(text): '\(word)' is not a port number")
        }
        return port
    }
}

extension String {
    fileprivate func trimming(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
