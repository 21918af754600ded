import Logging
public import SMTPPluginAPI

/// `hosts_allow` (no arguments): at pre-connection, before anything else happens to a client,
///
/// 1. enforces `max_connections_per_ip` in the listener's place, counting this connection:
///    over the limit is `too many connections from <ip>, try again later` (DENYSOFT; the
///    listener closes with 421). A client whose `karma_history` note is above 5 may open 3 more;
///    one at 0 or below only 1. The count is the listener's, taken when it accepted, so it is
///    right from the first connection (qpsmtpd's count of its children was not, issue #288);
/// 2. answers as the first line of the `hosts_allow` file that matches the client says:
///    `address[/prefix] CONSTANT [message]`, CONSTANT one of qpsmtpd's (DECLINED, OK, DENY,
///    DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT). IPv6 entries work too.
public struct HostsAllow: SMTPPlugin {
    static let karmaHistory = NoteKey<Int>("karma_history")

    struct Entry: Sendable {
        var matcher: IPMatcher
        var result: HookResult
        var text: String
    }

    private let entries: [Entry]

    public init(context: PluginContext) throws {
        guard context.arguments.words.isEmpty else {
            throw PluginArgumentError("hosts_allow takes no arguments; its table is the config file hosts_allow")
        }
        entries = try context.config.entries("hosts_allow").map(Self.entry)
    }

    static func entry(_ line: ConfigLine) throws -> Entry {
        let place = "\(line.file):\(line.lineNumber)"
        let columns = line.text.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
        guard columns.count >= 2 else {
            throw PluginArgumentError("\(place): hosts_allow lines are 'address[/prefix] CONSTANT [message]', not '\(line.text)'")
        }
        let matcher = IPMatcher(entries: [String(columns[0])])
        guard !matcher.isEmpty else {
            throw PluginArgumentError("\(place): '\(columns[0])' is not an address or address/prefix")
        }
        let message = columns.count > 2 ? String(columns[2]).trimmingCharacters() : nil
        let result: HookResult
        switch columns[1].uppercased() {
        case "DECLINED": result = .declined
        case "OK": result = .ok(message)
        case "DENY": result = .deny(message)
        case "DENYSOFT": result = .denySoft(message)
        case "DENY_DISCONNECT": result = .denyDisconnect(message)
        case "DENYSOFT_DISCONNECT": result = .denySoftDisconnect(message)
        default:
            throw PluginArgumentError("\(place): '\(columns[1])' is not DECLINED, OK, DENY, DENYSOFT, DENY_DISCONNECT or DENYSOFT_DISCONNECT")
        }
        return Entry(matcher: matcher, result: result, text: line.text)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.enforcePerAddressLimit()
        hooks.onPreConnection { context in
            let connection = context.connection
            if let counted = connection.addressConcurrency, counted.limit > 0 {
                let limit = Self.limit(counted.limit, karma: connection[note: Self.karmaHistory])
                if counted.open > limit {
                    let reason = "too many connections from \(connection.remoteIP)"
                    context.logger.info("fail: \(reason) (\(counted.open) > \(limit))")
                    return .denySoft("\(reason), try again later")
                }
            }
            guard let entry = entries.first(where: { $0.matcher.matches(connection.remoteIP) }) else {
                context.logger.debug("pass")
                return .declined
            }
            if entry.result.isDenial {
                context.logger.info("fail: \(entry.result.message ?? entry.text)")
            } else {
                context.logger.debug("pass: \(entry.text)")
            }
            return entry.result
        }
    }

    /// The per-address limit for a client's karma history: more for a good one, one connection
    /// for a bad one.
    static func limit(_ base: Int, karma: Int?) -> Int {
        guard let karma else { return base }
        if karma > 5 { return base + 3 }
        if karma <= 0 { return 1 }
        return base
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
