import SMTPPluginAPI

/// Clients greylisting leaves alone, from the postgrey-style files `greylist_exclude_files` names
/// (one path a line, absolute or inside the config directory). A line of such a file is an IP
/// address, an address prefix ending in `.` or `:` (`192.0.2.`), an IPv4 network (`192.0.2.0/24`),
/// a host or domain name matched against the client's host name (the name or any name under
/// it), or `/regex/` matched against that host name. `#` starts a comment.
struct GreylistExclusions: Sendable {
    private var addresses: Set<String> = []
    private var prefixes: [String] = []
    private var networks: [(network: UInt32, mask: UInt32)] = []
    private var domains: [String] = []
    private var patterns: [String] = []

    var isEmpty: Bool {
        addresses.isEmpty && prefixes.isEmpty && networks.isEmpty && domains.isEmpty && patterns.isEmpty
    }

    init() {}

    /// Reads every file `greylist_exclude_files` lists; a missing file or bad line stops the load.
    init(config: any ConfigStore) throws {
        for entry in config.entries("greylist_exclude_files") {
            let path = entry.text
            // A relative name is a file of the config directory (a missing one is empty, as any).
            let text = path.hasPrefix("/") ? DirectoryConfigStore.readFile(path) : config.lines(path).joined(separator: "\n")
            guard let text else {
                throw PluginArgumentError("\(entry.file):\(entry.lineNumber): cannot read greylist exclusion file \(path)")
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if let word = content.split(whereSeparator: \.isWhitespace).first { try add(String(word), file: path) }
            }
        }
    }

    mutating func add(_ word: String, file: String = "greylist_exclude_files") throws {
        let text = word.lowercased()
        if text.hasPrefix("/") && text.hasSuffix("/") && text.count > 2 {
            let pattern = String(word.dropFirst().dropLast())
            guard (try? Regex(pattern)) != nil else {
                throw PluginArgumentError("\(file): bad regular expression '\(word)'")
            }
            patterns.append(pattern)
        } else if let slash = text.firstIndex(of: "/") {
            guard let network = ExclusionIPv4.parse(String(text[..<slash])), let bits = Int(text[text.index(after: slash)...]), (0...32).contains(bits) else {
                throw PluginArgumentError("\(file): bad network '\(word)'")
            }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            networks.append((network & mask, mask))
        } else if text.hasSuffix(".") || text.hasSuffix(":") {
            prefixes.append(text)
        } else if ExclusionIPv4.parse(text) != nil || text.contains(":") {
            addresses.insert(text)
        } else {
            domains.append(text)
        }
    }

    func excludes(ip: String, host: String?) -> Bool {
        let ip = ip.lowercased()
        if addresses.contains(ip) { return true }
        if prefixes.contains(where: { ip.hasPrefix($0) }) { return true }
        if let value = ExclusionIPv4.parse(ip), networks.contains(where: { value & $0.mask == $0.network }) { return true }
        guard let host = host?.lowercased(), !host.isEmpty else { return false }
        if domains.contains(where: { host == $0 || host.hasSuffix("." + $0) }) { return true }
        return patterns.contains { pattern in
            guard let regex = try? Regex(pattern).ignoresCase() else { return false }
            return host.contains(regex)
        }
    }
}

/// Dotted-quad IPv4 text as a number.
private enum ExclusionIPv4 {
    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
