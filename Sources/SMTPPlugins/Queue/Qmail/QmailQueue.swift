#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPCore
public import SMTPPluginAPI

/// `queue/qmail-queue [path]`: hands the message to qmail-queue(8), or any
/// program speaking its interface (simscan, qmail-scanner, a qmail-qfilter chain): the message on
/// descriptor 0 with LF line ends, streamed from the spool, the envelope on descriptor 1 (see
/// `QmailEnvelope`). The path is the argument, else `$QMAIL/bin/qmail-queue` (`/var/qmail`);
/// `QMAILQUEUE` in the environment overrides both, as in qpsmtpd and qmail's own programs.
///
/// Exit 0 answers `250 Queued! <epoch> qp <pid> <Message-Id>` as qpsmtpd does; the other codes
/// are mapped by `QmailQueueExit` (qpsmtpd answers 451 for all of them, even qmail-queue's
/// permanent ones). A program that cannot start, is killed, or has not finished half a second
/// before the hook's deadline (`plugin_timeout`, or the plugin's own `timeout N`; then it is
/// killed) answers `451 4.3.0`.
public struct QmailQueue: SMTPPlugin {
    /// Left between killing the program and the hook's deadline, to answer with our own text.
    static let answerMargin: Duration = .milliseconds(500)

    let path: String
    private let logger: Logger
    private let programs: any ProgramRunner
    private let spool: any SpoolReader
    private let clock: any PluginClock

    public init(context: PluginContext) throws {
        try self.init(context: context) { name in getenv(name).map { String(cString: $0) } }
    }

    init(context: PluginContext, environment: (String) -> String?) throws {
        // `timeout N` and `loglevel N` are every plugin's (the engine reads them), not a path.
        var words = context.arguments.words
        for keyword in ["timeout", "loglevel"] {
            if let index = words.firstIndex(of: keyword) { words.removeSubrange(index..<min(index + 2, words.count)) }
        }
        if words.count > 1 { context.logger.warning("ignoring additional arguments: \(words.dropFirst().joined(separator: " "))") }
        let home = environment("QMAIL").flatMap { $0.isEmpty ? nil : $0 } ?? "/var/qmail"
        var path = words.first ?? home + "/bin/qmail-queue"
        if let override = environment("QMAILQUEUE"), !override.isEmpty { path = override }
        if !Self.isSafe(path) {
            // qpsmtpd's child refuses such a path at queue time; saying so at load helps sooner.
            context.logger.error("unsafe qmail-queue path '\(path)': every message will get 451")
        }
        self.path = path
        logger = context.logger
        programs = context.services.programs
        spool = context.services.spool
        clock = context.services.clock
    }

    /// qpsmtpd's check: absolute, and only `-/_.`, letters and digits (no spaces or shell characters).
    static func isSafe(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            case UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "."): return true
            default: return false
            }
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQueue { context, transaction in
            await queue(transaction, deadline: context.deadline - Self.answerMargin)
        }
    }

    func queue(_ transaction: Transaction, deadline: ContinuousClock.Instant) async -> HookResult {
        guard Self.isSafe(path) else { return .denySoft("4.3.0 Unable to queue message (unsafe qmail-queue path)") }
        guard let body = transaction.body else { return .denySoft("4.3.0 Unable to queue message (no message)") }
        guard let envelope = QmailEnvelope.bytes(sender: transaction.sender, recipients: transaction.recipients) else {
            return .deny("5.1.3 Unable to queue message: NUL in an address")
        }
        let header = transaction.header
        let message = LFLineEnds(OutgoingMessage(body, header: header, reader: spool))
        let invocation = ProgramInvocation(path, inputs: [1: envelope], streamedInputs: [0: ProgramInputStream(message)])
        let result: ProgramResult
        do {
            result = try await programs.run(invocation, deadline: deadline)
        } catch ProgramError.timedOut {
            logger.error("\(path) did not finish before the plugin's deadline; killed")
            return .denySoft("4.3.0 Unable to queue message (timed out)")
        } catch {
            logger.error("cannot run \(path): \(error)")
            return .denySoft("4.3.0 Unable to queue message (cannot run qmail-queue)")
        }
        switch result.termination {
        case .exited(0):
            let pid = result.processID.map(String.init) ?? "0"
            let reply = "Queued! \(Int(clock.now.secondsSinceEpoch)) qp \(pid) \(Self.messageID(header))"
            logger.info("\(reply)")
            return .ok(reply)
        case .exited(let code):
            logger.error("\(path) exited \(code)")
            return QmailQueueExit.refusal(for: code)
        case .signaled(let signal):
            logger.error("\(path) killed by signal \(signal)")
            return .denySoft("4.3.0 Unable to queue message (qmail-queue killed by signal \(signal))")
        }
    }

    /// The Message-Id up to its first line break (a folded one keeps its first line), in angle
    /// brackets; `<>` without one (as qpsmtpd).
    static func messageID(_ header: MessageHeader) -> String {
        let raw = header.all(named: "Message-Id").first?.rawValue ?? ""
        let line = String(raw.prefix { $0 != "\r\n" && $0 != "\n" && $0 != "\r" }).trimmingSpacesAndTabs()
        return line.hasPrefix("<") && line.hasSuffix(">") ? line : "<\(line)>"
    }
}
