#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/syslog [loglevel L] [priority P] [ident NAME] [facility F] [logsock TYPES]
/// [format text|json]`: sends records at or below `loglevel` (default LOGWARN) to the local
/// syslog daemon as `<PRI>Mmm dd hh:mm:ss ident[pid]: [<connection>] (<hook>) <plugin>: <message>`,
/// what syslog(3) sends. PRI is facility (default LOG_MAIL) × 8 + the record's level, which is
/// qpsmtpd's level numbered as syslog's, or `priority` for every record. `ident` defaults to
/// qpsmtpd. `logsock` names the socket: `unix` is `/dev/log`, and a word starting with `/` is
/// another datagram socket (`logsock unix,/run/qpsmtpd-log`); qpsmtpd's network types (`udp`,
/// `tcp`, `stream`, `console`) are refused: a local syslog daemon forwards better than we would.
public struct SyslogLogger: SMTPPlugin {
    let level: Int
    let fixedSeverity: Int?
    let facility: Int
    let ident: String
    let format: LogFormat
    let name: String
    let socket: SyslogSocket

    public init(context: PluginContext) throws {
        let arguments = context.arguments
        let known: Set<String> = ["loglevel", "priority", "ident", "facility", "logsock", "format"]
        guard arguments.words.count % 2 == 0 else {
            throw PluginArgumentError("arguments come in pairs: loglevel, priority, ident, facility, logsock, format")
        }
        for key in stride(from: 0, to: arguments.words.count, by: 2).map({ arguments.words[$0] }) where !known.contains(key) {
            throw PluginArgumentError("unknown argument '\(key)' (known: loglevel, priority, ident, facility, logsock, format)")
        }
        level = try arguments["loglevel"].map(LogLevels.parse) ?? 4
        fixedSeverity = try arguments["priority"].map(SyslogNames.severity)
        facility = try arguments["facility"].map(SyslogNames.facility) ?? 2
        let ident = arguments["ident"] ?? "qpsmtpd"
        // qpsmtpd's rule: word characters, '-' and '.'; anything else could forge the tag.
        guard !ident.isEmpty, ident.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }) else {
            throw PluginArgumentError("ident may hold letters, digits, '_', '-' and '.', not '\(ident)'")
        }
        self.ident = ident
        format = try LogFormat.from(arguments)
        name = context.instanceName
        socket = try SyslogSocket(path: Self.socketPath(arguments["logsock"]))
    }

    /// The socket `logsock` names: `/dev/log` unless a path is given.
    static func socketPath(_ logsock: String?) throws -> String {
        var path = "/dev/log"
        for word in (logsock ?? "unix").split(separator: ",").map(String.init) {
            if word.hasPrefix("/") {
                path = word
            } else if word.lowercased() != "unix" {
                throw PluginArgumentError("logsock '\(word)' is not supported: use unix (/dev/log) or a socket path")
            }
        }
        return path
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: level) { [self] record in
            guard record.level <= level, record.plugin != name else { return }
            socket.send(datagram(record))
        }
    }

    func datagram(_ record: LogRecord) -> String {
        let severity = fixedSeverity ?? min(max(record.level, 0), 7)
        var body: String
        switch format {
        case .text: body = LogLine.fields(record)
        case .json: body = LogJSON.format(record, pid: getpid())
        }
        if body.hasSuffix("\n") { body.removeLast() }
        // RFC 3164's timestamp in local time, as syslog(3) writes it ("Nov  3 09:05:01").
        let stamp = FileLogger.timestamp("%b %e %T", seconds: record.time.seconds)
        return "<\(facility * 8 + severity)>\(stamp) \(ident)[\(getpid())]: \(body)"
    }
}
