public import SMTPPluginAPI

/// `virus/clamav`: runs ClamAV's command-line scanner (clamdscan by default, or clamscan) on each
/// message at data_post, the message streamed to its standard input rather than written to a
/// file. Exit 1 is a virus: `Virus Found: NAME` with `action=reject`, else X-Virus-Found and
/// X-Virus-Details fields (qpsmtpd's default, `action=add-header`); exit 0 adds X-Virus-Checked.
/// Any other end defers the message, as qpsmtpd does, unless `declined_on_fail`.
public struct ClamAVCommand: SMTPPlugin {
    let settings: ClamAVCommandSettings

    public init(context: PluginContext) throws {
        settings = try ClamAVCommandSettings(context.arguments)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            await scan(transaction, context: context)
        }
    }

    var arguments: [String] {
        var words = ["--stdout", "--no-summary"]
        if let config = settings.clamdConfig { words.append("--config-file=\(config)") }
        return words + ["-"]
    }

    func scan(_ transaction: Transaction, context: HookContext) async -> HookResult {
        let logger = context.logger
        guard let body = context.messageToScan(transaction, sizeLimit: settings.maxSize) else { return .declined }
        let message = OutgoingMessage(body, header: transaction.header, reader: context.services.spool)
        let invocation = ProgramInvocation(
            settings.scannerPath, arguments: arguments, streamedInputs: [0: ProgramInputStream(message)],
            captureOutput: true, captureLimit: 65536)
        let result: ProgramResult
        do {
            result = try await context.services.programs.run(invocation, deadline: context.scanDeadline)
        } catch {
            logger.error("cannot run \(settings.scannerPath): \(error)")
            return failure()
        }
        let output = String(decoding: result.output ?? [], as: UTF8.self)
        switch result.termination {
        case .exited(0):
            logger.info("pass, clean")
            let me = context.services.hostName
            transaction.modifyHeader { $0.append("X-Virus-Checked", "Checked by ClamAV on \(me)") }
            return .declined
        case .exited(1):
            let names = Self.virusNames(in: output).joined(separator: ", ")
            logger.info("Virus(es) found: \(names)")
            if settings.action == .reject { return .deny("Virus Found: \(names)") }
            transaction.modifyHeader { header in
                header.append("X-Virus-Found", "Yes")
                header.append("X-Virus-Details", names)
            }
            return .declined
        case .exited(let code):
            logger.error("ClamAV error: \(settings.scannerPath) exited \(code): \(output.prefix(300))")
            return failure()
        case .signaled(let signal):
            logger.error("\(settings.scannerPath) killed by signal \(signal)")
            return failure()
        }
    }

    func failure() -> HookResult {
        settings.declineOnFailure ? .declined : .denySoft("4.7.1 Unable to scan for viruses")
    }

    /// The names in `stdin: Eicar-Signature FOUND` / `fd[12]: Eicar-Signature FOUND` lines.
    static func virusNames(in output: String) -> [String] {
        output.split(whereSeparator: \.isNewline).compactMap { line in
            guard line.hasSuffix(" FOUND") else { return nil }
            let rest = line.dropLast(" FOUND".count)
            return rest.split(separator: " ").last.map(String.init)
        }
    }
}
