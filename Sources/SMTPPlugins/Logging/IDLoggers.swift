#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import SMTPPluginAPI

/// `logging/connection_id [loglevel]`: `logging/warn` with the connection's id where the pid
/// would be (`<time> <connection> (<hook>) <plugin>: <message>`; `???` outside a connection, as
/// qpsmtpd). qpsmtpd ships it as a demo that refuses to load; here it works.
public struct ConnectionIDLogger: SMTPPlugin {
    let sink: IDLogSink

    public init(context: PluginContext) throws {
        try self.init(context: context, output: IDLogSink.standardError)
    }

    init(context: PluginContext, output: @escaping @Sendable (String) -> Void) throws {
        sink = try IDLogSink(context: context, output: output)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: sink.level) { [sink] record in
            sink.write(record, id: record.connectionID)
        }
    }
}

/// `logging/transaction_id [loglevel]`: the same with the transaction's id (from MAIL until the
/// transaction ends; `???` outside one). qpsmtpd's demo refuses to load; here it works.
public struct TransactionIDLogger: SMTPPlugin {
    let sink: IDLogSink
    /// connection → its open transaction's id. A logging record carries only the connection.
    private let transactions = LockedState<[String: String]>([:])

    public init(context: PluginContext) throws {
        try self.init(context: context, output: IDLogSink.standardError)
    }

    init(context: PluginContext, output: @escaping @Sendable (String) -> Void) throws {
        sink = try IDLogSink(context: context, output: output)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging(upTo: sink.level) { [sink, transactions] record in
            sink.write(record, id: record.connectionID.flatMap { connection in transactions.withLock { $0[connection] } })
        }
        // Logging plugins load first, so this runs before any other plugin's MAIL hook.
        hooks.onMail { [transactions] context, transaction, _, _ in
            transactions.withLock { $0[context.connection.id] = transaction.id }
            return .declined
        }
        hooks.onResetTransaction { [transactions] context, _ in
            _ = transactions.withLock { $0.removeValue(forKey: context.connection.id) }
            return .declined
        }
        hooks.onPostConnection { [transactions] context in
            _ = transactions.withLock { $0.removeValue(forKey: context.connection.id) }
            return .declined
        }
    }
}

/// What both id loggers share: the level, their own instance name (whose records they skip, so
/// they never log about their own logging) and where a line goes.
struct IDLogSink: Sendable {
    static let standardError: @Sendable (String) -> Void = { writeWhole($0, to: STDERR_FILENO) }

    let level: Int
    let name: String
    let output: @Sendable (String) -> Void

    init(context: PluginContext, output: @escaping @Sendable (String) -> Void) throws {
        level = try context.arguments.positional(0).map(LogLevels.parse) ?? 4
        name = context.instanceName
        self.output = output
    }

    func write(_ record: LogRecord, id: String?) {
        guard record.level <= level, record.plugin != name else { return }
        output(IDLine.format(record, id: id))
    }
}

enum IDLine {
    static func format(_ record: LogRecord, id: String?) -> String {
        var line = "\(record.time.rfc3339) \(id ?? "???")"
        if let hook = record.hook { line += " (\(hook))" }
        if let plugin = record.plugin { line += " \(plugin)" }
        // One record stays one line, as in the daemon's own format.
        let message = String(record.message.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
        return line + ": " + message + "\n"
    }
}

/// `logging/devnull`: takes every record and writes none — a daemon that logs nothing at all
/// (without a logging plugin, records go to stderr).
public struct DevNullLogger: SMTPPlugin {
    public init(context: PluginContext) throws {
        guard context.arguments.words.isEmpty else { throw PluginArgumentError("takes no arguments") }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onLogging { _ in }
    }
}
