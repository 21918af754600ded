import Logging
public import SMTPPluginAPI

/// `connection_time [LEVEL]`: logs `Connection time from <ip>: <seconds> sec.` when the
/// connection ends (post-connection), timed from pre-connection, or from connect where no
/// listener runs pre-connection (inetd). LEVEL is a qpsmtpd level name (`LOGNOTICE`, the
/// default, `LOGINFO`, `LOGDEBUG`, …) or its number 0–7.
public struct ConnectionTime: SMTPPlugin {
    static let started = NoteKey<ContinuousClock.Instant>("connection_time_start")
    private let level: Logger.Level

    public init(context: PluginContext) throws {
        let words = context.arguments.words
        guard words.count <= 1 else {
            throw PluginArgumentError("connection_time takes one log level, not '\(words.joined(separator: " "))'")
        }
        guard let level = Self.level(words.first ?? "LOGNOTICE") else {
            throw PluginArgumentError("'\(words[0])' is not a log level (LOGDEBUG, LOGINFO, LOGNOTICE, LOGWARN, LOGERROR, LOGCRIT, LOGALERT, LOGEMERG or 0-7)")
        }
        self.level = level
    }

    /// qpsmtpd's level names and numbers in swift-log's terms.
    static func level(_ word: String) -> Logger.Level? {
        let names = ["LOGEMERG", "LOGALERT", "LOGCRIT", "LOGERROR", "LOGWARN", "LOGNOTICE", "LOGINFO", "LOGDEBUG"]
        guard let number = Int(word) ?? names.firstIndex(of: word.uppercased()), (0...7).contains(number) else { return nil }
        switch number {
        case 7: return .debug
        case 6: return .info
        case 5: return .notice
        case 4: return .warning
        case 3: return .error
        default: return .critical
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onPreConnection { context in
            context.connection[note: Self.started] = .now
            return .declined
        }
        hooks.onConnect { context in
            if context.connection[note: Self.started] == nil { context.connection[note: Self.started] = .now }
            return .declined
        }
        hooks.onPostConnection { context in
            guard let start = context.connection[note: Self.started] else { return .declined }
            context.logger.log(level: level, "\(Self.line(ip: context.connection.remoteIP, elapsed: .now - start))")
            return .declined
        }
    }

    static func line(ip: String, elapsed: Duration) -> String {
        let milliseconds = Int((Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15).rounded())
        let fraction = String(milliseconds % 1000)
        return "Connection time from \(ip): \(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) sec."
    }
}
