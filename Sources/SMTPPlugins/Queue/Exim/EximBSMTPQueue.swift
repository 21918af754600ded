import Logging
import SMTPCore
public import SMTPPluginAPI

/// `queue/exim-bsmtp [exim_path PATH]`: hands the message to Exim as a batched SMTP job
/// (`PATH -bS`, the default `/usr/sbin/rsmtp` being Exim's name for that), streamed from the
/// spool through `BSMTPBatch`. Exim takes MAIL FROM from a batch only when we run as one of its
/// `trusted_users`; otherwise it puts the calling user in.
///
/// Exit 0 answers `250 Queued!` as qpsmtpd. A reply Exim reports (`EximOutput`) reaches the client
/// as it stands when it is a 5xx (Exim then refused the whole message, for one recipient or for its
/// content: BSMTP cannot refuse a single recipient); anything else that went wrong (no Exim, killed,
/// no answer half a second before the hook's deadline, its input ending early) answers `451 4.3.0`.
public struct EximBSMTPQueue: SMTPPlugin {
    static let defaultPath = "/usr/sbin/rsmtp"
    /// Left between killing Exim and the hook's deadline, to answer with our own text.
    static let answerMargin: Duration = .milliseconds(500)
    /// Exim's report is a few lines; more is not worth keeping.
    static let outputLimit = 16_384

    let path: String
    private let hostName: String
    private let logger: Logger
    private let programs: any ProgramRunner
    private let spool: any SpoolReader

    public init(context: PluginContext) throws {
        if context.arguments.contains("exim_path") {
            guard let path = context.arguments["exim_path"], path.hasPrefix("/") else {
                throw PluginArgumentError("exim_path needs an absolute path")
            }
            self.path = path
        } else {
            path = Self.defaultPath
        }
        hostName = context.services.hostName
        logger = context.logger
        programs = context.services.programs
        spool = context.services.spool
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQueue { context, transaction in
            await queue(transaction, deadline: context.deadline - Self.answerMargin)
        }
    }

    func queue(_ transaction: Transaction, deadline: ContinuousClock.Instant) async -> HookResult {
        // qpsmtpd refuses a transaction without a message the same way.
        guard let body = transaction.body else { return .deny("Mail unqueuable") }
        let batch = BSMTPBatch(
            helo: hostName, sender: transaction.sender, recipients: transaction.recipients,
            message: OutgoingMessage(body, header: transaction.header, reader: spool))
        // Standard output only: Exim's background delivery, forked after it accepted the message,
        // keeps standard error open until that delivery ends (seconds, or a remote host's timeouts),
        // and capturing it would hold our answer until then.
        let invocation = ProgramInvocation(
            path, arguments: ["-bS"], streamedInputs: [0: ProgramInputStream(batch)], captureOutput: true, captureLimit: Self.outputLimit)
        let result: ProgramResult
        do {
            result = try await programs.run(invocation, deadline: deadline)
        } catch ProgramError.timedOut {
            logger.error("\(path) -bS did not finish before the plugin's deadline; killed")
            return .denySoft("4.3.0 Unable to queue message (Exim timed out)")
        } catch {
            logger.error("cannot run \(path) -bS: \(error)")
            return .denySoft("4.3.0 Unable to queue message (cannot run Exim)")
        }
        let report = EximOutput(result.output ?? [])
        switch result.termination {
        case .exited(0):
            return .ok("Queued!")
        // Exit 1 would mean "accepted, then an error" for our one-message batch, but Exim also exits
        // 1 when it cannot start (a bad configuration): only 0 is proof, and a 451 costs at most a copy.
        case .exited(let code):
            logger.error("\(path) -bS exited \(code): \(report.code.map(String.init) ?? "") \(report.text ?? "")")
            if let replyCode = report.code, let text = report.text, (500...599).contains(replyCode) {
                return .done(SMTPReply(code: replyCode, defaultEnhanced: EnhancedStatusCode(5, 3, 0), text: text))
            }
            return .denySoft("4.3.0 Unable to queue message (Exim exited \(code)\(report.text.map { ": " + $0 } ?? ""))")
        case .signaled(let signal):
            logger.error("\(path) -bS killed by signal \(signal)")
            return .denySoft("4.3.0 Unable to queue message (Exim killed by signal \(signal))")
        }
    }
}
