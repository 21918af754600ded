import Logging
public import SMTPPluginAPI

/// `count_unrecognized_commands N`: closes the connection at the Nth unrecognized command (default 4).
public struct CountUnrecognizedCommands: SMTPPlugin {
    private let limit: Int
    private let logger: Logger

    public init(context: PluginContext) throws {
        logger = context.logger
        if let word = context.arguments.positional(0) {
            guard let n = Int(word), n > 0 else {
                throw PluginArgumentError("the limit must be a positive number, not '\(word)'")
            }
            limit = n
        } else {
            limit = 4
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onUnrecognizedCommand { context, verb, _ in
            let connection = context.connection
            let count = (connection[note: .unrecognizedCommandCount] ?? 0) + 1
            connection[note: .unrecognizedCommandCount] = count
            logger.info("Unrecognized command '\(verb)'")
            guard count >= limit else { return .declined }
            logger.info("fail: Closing connection, \(count) unrecognized commands.")
            return .denyDisconnect("Closing connection, \(count) unrecognized commands. Perhaps you should read RFC 2821?")
        }
    }
}
