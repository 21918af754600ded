#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/adaptive [accept L] [reject L] [prefix C]`, qpsmtpd's semantics: every record at or
/// below `reject` (default LOGWARN) goes to stderr at once; records at or below `accept`
/// (default LOGERROR) are also kept per connection, and when a transaction ends with no denial
/// since the last one ended, they are written again with `prefix` (default `` ` ``) after the
/// pid. A log filter (multilog `'+*` *'`) can then keep a short log of accepted mail beside the
/// detailed one. Unlike qpsmtpd, whose flag stays set for the rest of the process, a denial
/// counts only for the transaction it happened in.
public struct AdaptiveLogger: SMTPPlugin {
    /// At most this many records are kept per connection: a client that loops cannot grow it without end.
    static let maximumKept = 1000

    struct Pending {
        var records: [LogRecord] = []
        var denied = false
    }

    let acceptLevel: Int
    let rejectLevel: Int
    let prefix: String
    let name: String
    private let output: @Sendable (String) -> Void
    private let pending = LockedState<[String: Pending]>([:])

    public init(context: PluginContext) throws {
        try self.init(context: context, output: { writeWhole($0, to: STDERR_FILENO) })
    }

    init(context: PluginContext, output: @escaping @Sendable (String) -> Void) throws {
        let arguments = context.arguments
        acceptLevel = try arguments["accept"].map(LogLevels.parse) ?? 3
        rejectLevel = try arguments["reject"].map(LogLevels.parse) ?? 4
        prefix = arguments["prefix"] ?? "`"
        name = context.instanceName
        self.output = output
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: rejectLevel) { [self] record in log(record) }
        hooks.onDeny { [pending] context, _ in
            pending.withLock { $0[context.connection.id, default: Pending()].denied = true }
        }
        hooks.onResetTransaction { [self] context, _ in
            transactionEnded(context.connection.id)
            return .declined
        }
        hooks.onPostConnection { [pending] context in
            _ = pending.withLock { $0.removeValue(forKey: context.connection.id) }
            return .declined
        }
    }

    func log(_ record: LogRecord) {
        guard record.plugin != name, record.level <= rejectLevel else { return }
        output(LogLine.format(record, pid: getpid()))
        guard let connection = record.connectionID, record.level <= acceptLevel else { return }
        pending.withLock { all in
            if all[connection, default: Pending()].records.count < Self.maximumKept {
                all[connection, default: Pending()].records.append(record)
            }
        }
    }

    /// Writes the kept records again, marked, unless something was denied; starts afresh either way.
    func transactionEnded(_ connection: String) {
        let finished = pending.withLock { $0.removeValue(forKey: connection) } ?? Pending()
        guard !finished.denied else { return }
        for record in finished.records {
            output("\(record.time.rfc3339) \(getpid()) \(prefix) " + LogLine.fields(record))
        }
    }

}
