import Logging
import SMTPPluginAPI
import Synchronization

/// One transaction's downstream conversation in proxy mode, kept in a transaction note from
/// MAIL until the transaction is reset.
final class ProxyConversation: Sendable {
    let connection: DownstreamConnection
    /// Recipients the downstream accepted at RCPT time.
    private let accepted = Mutex<[Mailbox]>([])

    init(_ connection: DownstreamConnection) {
        self.connection = connection
    }

    var acceptedRecipients: [Mailbox] { accepted.withLock { $0 } }
    func accept(_ recipient: Mailbox) { accepted.withLock { $0.append(recipient) } }
}

/// `queue/smtp-forward HOST PORT proxy`: the downstream hears MAIL when our client says it and
/// judges each RCPT before we answer it, so its refusals reach the client at RCPT time, code and
/// text, and nothing has to be logged away after DATA. Put the line after the rcpt plugins
/// that should judge first: its rcpt hook answers OK for what the downstream accepts, which
/// ends the rcpt hook for the plugins below it.
struct SMTPForwardProxy: Sendable {
    let delivery: ForwardDelivery
    let note: NoteKey<ProxyConversation>

    init(delivery: ForwardDelivery, instance: String) {
        self.delivery = delivery
        note = NoteKey("smtp-forward proxy \(instance)")
    }

    private var options: DownstreamOptions { delivery.options }

    func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, transaction, sender, parameters in
            await mail(context, transaction, sender, parameters)
        }
        hooks.onRcpt { context, transaction, recipient, _ in
            await rcpt(context, transaction, recipient)
        }
        hooks.onQueue { context, transaction in
            await queue(context, transaction)
        }
        hooks.onResetTransaction { context, transaction in
            await close(transaction, deadline: StepDeadlines(options.timeouts, hookDeadline: context.deadline).courtesy)
            return .declined
        }
    }

    /// Opens the conversation and says MAIL; the downstream's refusal is ours.
    func mail(_ context: HookContext, _ transaction: Transaction, _ sender: ReversePath, _ parameters: [ESMTPParameter]) async -> HookResult {
        let deadlines = StepDeadlines(options.timeouts, hookDeadline: context.deadline)
        await close(transaction, deadline: deadlines.courtesy)
        var mailOptions = MailOptions()
        mailOptions.size = parameters.first { $0.keyword == "SIZE" }?.value.flatMap { Int($0) }
        mailOptions.eightBit = parameters.contains { $0.keyword == "BODY" && $0.value?.uppercased() == "8BITMIME" }
        switch await open(context, transaction, sender: sender, mailOptions, deadlines) {
        case .success: return .declined
        case .failure(let answer): return answer.result
        }
    }

    /// Asks the downstream about the recipient: its 2xx is our OK, its refusal our reply.
    func rcpt(_ context: HookContext, _ transaction: Transaction, _ recipient: Mailbox) async -> HookResult {
        let deadlines = StepDeadlines(options.timeouts, hookDeadline: context.deadline)
        let conversation: ProxyConversation
        if let open = transaction[note: note] {
            conversation = open
        } else {
            // Our mail hook did not run (a plugin above answered MAIL with OK): say MAIL now.
            guard let sender = transaction.sender else { return ForwardReplyMapping.temporaryFailure("no sender") }
            switch await open(context, transaction, sender: sender, MailOptions(), deadlines) {
            case .success(let opened): conversation = opened
            case .failure(let answer): return answer.result
            }
        }
        do {
            let reply = try await conversation.connection.command("RCPT TO:\(recipient.formatted)", deadline: deadlines.command)
            guard reply.isPositive else {
                context.logger.info("\(options.endpoint) refused \(recipient): \(reply)")
                return .done(reply.relayed)
            }
            conversation.accept(recipient)
            return .ok()
        } catch {
            return await fail(error, transaction, context.logger)
        }
    }

    /// DATA on the open conversation; recipients the downstream has not judged yet (a plugin
    /// above answered their RCPT with OK) are asked first, as in the queue mode.
    func queue(_ context: HookContext, _ transaction: Transaction) async -> HookResult {
        guard let conversation = transaction[note: note] else {
            return await delivery.deliver(transaction, context: context)
        }
        transaction[note: note] = nil
        let deadlines = StepDeadlines(options.timeouts, hookDeadline: context.deadline)
        guard let body = transaction.body else { return ForwardReplyMapping.temporaryFailure("no message") }
        let message = OutgoingMessage(body, header: transaction.header, reader: context.services.spool)
        do {
            let judged = conversation.acceptedRecipients
            var replies = judged.map { RecipientReply(recipient: $0, reply: DownstreamReply(code: 250, lines: ["accepted at RCPT"])) }
            for recipient in transaction.recipients where !judged.contains(recipient) {
                let reply = try await conversation.connection.command("RCPT TO:\(recipient.formatted)", deadline: deadlines.command)
                replies.append(RecipientReply(recipient: recipient, reply: reply))
            }
            let envelope = EnvelopeReplies(mail: DownstreamReply(code: 250, lines: ["accepted at MAIL"]), recipients: replies)
            return try await delivery.send(message, after: envelope, over: conversation.connection, deadlines: deadlines, logger: context.logger)
        } catch {
            await conversation.connection.close()
            let failure = DownstreamConnection.unavailable(error)
            context.logger.error("\(options.endpoint): \(failure.reason); nothing acknowledged")
            return ForwardReplyMapping.temporaryFailure(failure.reason)
        }
    }

    private func open(
        _ context: HookContext, _ transaction: Transaction, sender: ReversePath, _ mailOptions: MailOptions, _ deadlines: StepDeadlines
    ) async -> Result<ProxyConversation, Answer> {
        do {
            let connection = try await DownstreamConnection.open(
                options, connector: delivery.connector, client: ClientFacts(context.connection), deadlines: deadlines, logger: context.logger)
            let reply = try await connection.command(connection.mailCommand(sender, mailOptions), deadline: deadlines.command)
            guard reply.isPositive else {
                context.logger.info("\(options.endpoint) refused MAIL \(sender): \(reply)")
                await connection.quit(deadline: deadlines.courtesy)
                return .failure(Answer(.done(reply.relayed)))
            }
            let conversation = ProxyConversation(connection)
            transaction[note: note] = conversation
            return .success(conversation)
        } catch {
            return .failure(Answer(await fail(error, transaction, context.logger)))
        }
    }

    /// A conversation that broke is closed and forgotten; the client gets `451 4.3.0`.
    private func fail(_ error: any Error, _ transaction: Transaction, _ logger: Logger) async -> HookResult {
        if let conversation = transaction[note: note] {
            transaction[note: note] = nil
            await conversation.connection.close()
        }
        let failure = DownstreamConnection.unavailable(error)
        logger.error("\(options.endpoint): \(failure.reason)")
        return ForwardReplyMapping.temporaryFailure(failure.reason)
    }

    private func close(_ transaction: Transaction, deadline: ContinuousClock.Instant) async {
        guard let conversation = transaction[note: note] else { return }
        transaction[note: note] = nil
        await conversation.connection.quit(deadline: deadline)
    }

    /// A hook answer carried through `Result`'s failure side.
    struct Answer: Error {
        var result: HookResult
        init(_ result: HookResult) { self.result = result }
    }
}
