import Logging
public import SMTPPluginAPI

/// `queue/discard`: FOR BENCHMARKS ONLY — THIS PLUGIN LOSES MAIL.
///
/// Answers every message at the queue hook with `250 Queued! (discarded)` and stores nothing:
/// the message is thrown away after the client has been told it was accepted. It exists so that
/// `bench/run.sh` can measure the daemon's protocol and data path without a disk in the way,
/// next to Postfix's `smtp-sink`. Never list it in a production `config/plugins`; at start-up it
/// logs a warning saying so.
public struct DiscardQueue: SMTPPlugin {
    public init(context: PluginContext) throws {
        if let extra = context.arguments.positional(0) {
            throw PluginArgumentError("queue/discard takes no arguments, not '\(extra)'")
        }
        context.logger.warning("queue/discard is for benchmarks only: every accepted message is thrown away")
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQueue { _, _ in .ok("Queued! (discarded)") }
    }
}
