public import NIOCore
public import SMTPPluginAPI

/// Where and how long the resolver asks: the servers, the time one lookup may take with all its
/// tries, and how many rounds over the servers a lookup makes.
public struct DNSResolverConfiguration: Sendable, Hashable {
    public var servers: [SocketAddress]
    /// One lookup, every try included (config `dns_timeout`, default 5 s).
    public var timeout: Duration
    /// The most one try may wait for an answer (resolv.conf `options timeout:`, default 5 s).
    public var tryTimeout: Duration
    /// Rounds over the server list (resolv.conf `options attempts:`, default 2).
    public var attempts: Int

    public static let defaultTimeout: Duration = .seconds(5)

    public init(servers: [SocketAddress], timeout: Duration = defaultTimeout, tryTimeout: Duration = .seconds(5), attempts: Int = 2) {
        self.servers = servers
        self.timeout = timeout
        self.tryTimeout = tryTimeout
        self.attempts = max(1, attempts)
    }

    /// A config line the resolver could not use.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// resolv.conf first, then the daemon's `dns_servers` and `dns_timeout` files over it.
    /// Lines that cannot be used are returned as problems, so start-up names them.
    public static func load(config: any ConfigStore, resolvConf: String?) -> (DNSResolverConfiguration, [Problem]) {
        var configuration = resolvConf.map(fromResolvConf) ?? DNSResolverConfiguration(servers: [])
        var problems: [Problem] = []
        let serverLines = config.entries("dns_servers")
        if !serverLines.isEmpty {
            var servers: [SocketAddress] = []
            for line in serverLines {
                if let address = serverAddress(line.text) {
                    servers.append(address)
                } else {
                    problems.append(Problem(file: line.file, line: line.lineNumber, message: "not a DNS server address: '\(line.text)' (write 127.0.0.1, 127.0.0.1:5353 or [::1]:5353)"))
                }
            }
            configuration.servers = servers
        }
        if let line = config.entries("dns_timeout").first {
            if let seconds = Double(line.text), seconds > 0, seconds <= 300 {
                configuration.timeout = .milliseconds(Int64(seconds * 1000))
            } else {
                problems.append(Problem(file: line.file, line: line.lineNumber, message: "dns_timeout must be a number of seconds between 0 and 300, not '\(line.text)'"))
            }
        }
        // glibc's rule: no nameserver line means the local host.
        if configuration.servers.isEmpty && problems.isEmpty {
            configuration.servers = [serverAddress("127.0.0.1")!]
        }
        return (configuration, problems)
    }

    /// `nameserver` lines and `options timeout:N attempts:N`; everything else in the file is
    /// about name search for programs, which a mail server's lookups must not do.
    public static func fromResolvConf(_ text: String) -> DNSResolverConfiguration {
        var configuration = DNSResolverConfiguration(servers: [])
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let words = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver":
                if words.count > 1, let address = serverAddress(words[1]) {
                    configuration.servers.append(address)
                }
            case "options":
                for option in words.dropFirst() {
                    let parts = option.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let n = Int(parts[1]), n > 0 else { continue }
                    // glibc caps these at 30 s and 5 tries.
                    if parts[0] == "timeout" { configuration.tryTimeout = .seconds(min(n, 30)) }
                    if parts[0] == "attempts" { configuration.attempts = min(n, 5) }
                }
            default:
                continue
            }
        }
        return configuration
    }

    /// `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:5353`; port 53 when none is given.
    public static func serverAddress(_ text: String) -> SocketAddress? {
        var host = text
        var port = 53
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1 {
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let p = Int(parts[1]) else { return nil }
            host = String(parts[0])
            port = p
        }
        guard (1...65535).contains(port) else { return nil }
        // Addresses only: resolving a server's name would need the resolver being configured.
        return try? SocketAddress(ipAddress: host, port: port)
    }
}
