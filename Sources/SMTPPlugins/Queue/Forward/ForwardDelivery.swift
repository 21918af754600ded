import Logging
import SMTPPluginAPI

/// One message through the downstream, from MAIL to the final reply, for `queue/smtp-forward`
/// and `queue/lmtp`: the client code is the same, only the dialect differs.
struct ForwardDelivery: Sendable {
    let options: DownstreamOptions
    let connector: any OutboundConnector
    /// nil: a new connection per message.
    let pool: DownstreamPool?

    func deliver(_ transaction: Transaction, context: HookContext) async -> HookResult {
        let logger = context.logger
        guard let sender = transaction.sender, let body = transaction.body, !transaction.recipients.isEmpty else {
            logger.error("queue hook without sender, recipients or message")
            return ForwardReplyMapping.temporaryFailure("no message")
        }
        let deadlines = StepDeadlines(options.timeouts, hookDeadline: context.deadline)
        let header = transaction.header
        let message = OutgoingMessage(body, header: header, reader: context.services.spool)
        let connection: DownstreamConnection
        do {
            connection = try await acquire(ClientFacts(context.connection), deadlines: deadlines, logger: logger)
        } catch {
            let failure = DownstreamConnection.unavailable(error)
            logger.error("\(options.endpoint): \(failure.reason)")
            return ForwardReplyMapping.temporaryFailure(failure.reason)
        }
        do {
            var mailOptions = MailOptions(size: header.serialized().utf8.count + body.size - body.bodyOffset)
            if connection.capabilities.eightBitMIME { mailOptions.eightBit = try await Self.hasEightBitBytes(message) }
            let envelope = try await connection.sendEnvelope(
                sender: sender, recipients: transaction.recipients, options: mailOptions, deadlines: deadlines)
            let result = try await send(message, after: envelope, over: connection, deadlines: deadlines, logger: logger)
            return result
        } catch {
            await connection.close()
            let failure = DownstreamConnection.unavailable(error)
            logger.error("\(options.endpoint): \(failure.reason); nothing acknowledged")
            return ForwardReplyMapping.temporaryFailure(failure.reason)
        }
    }

    /// After the envelope: the message to the recipients the downstream took, or the answer
    /// the envelope already decided. The connection goes back to the pool when it ended clean.
    func send(
        _ message: OutgoingMessage, after envelope: EnvelopeReplies, over connection: DownstreamConnection,
        deadlines: StepDeadlines, logger: Logger
    ) async throws -> HookResult {
        switch ForwardReplyMapping.envelope(envelope) {
        case .answer(let result):
            logger.info("\(options.endpoint) refused the envelope: MAIL \(envelope.mail); \(envelope.recipients.map { "\($0.recipient) \($0.reply)" })")
            await release(connection, clean: await connection.reset(deadline: deadlines.courtesy), deadlines: deadlines)
            return result
        case .deliver(let accepted, let refused):
            for refusal in refused {
                logger.warning("\(options.endpoint) refused recipient \(refusal.recipient): \(refusal.reply); not delivered to it")
            }
            let replies = try await connection.sendMessage(message, acceptedRecipients: accepted.count, deadlines: deadlines)
            let result: HookResult
            switch options.dialect {
            case .smtp:
                result = ForwardReplyMapping.smtpMessage(replies)
            case .lmtp:
                let (mapped, lost) = ForwardReplyMapping.lmtpMessage(replies, recipients: accepted)
                for refusal in lost {
                    logger.error("\(options.endpoint) did not deliver to \(refusal.recipient) after DATA: \(refusal.reply); lost for that recipient")
                }
                result = mapped
            }
            logger.info("\(options.endpoint): \(replies)")
            if case .final = replies {
                await release(connection, clean: true, deadlines: deadlines)
            } else {
                await release(connection, clean: await connection.reset(deadline: deadlines.courtesy), deadlines: deadlines)
            }
            return result
        }
    }

    /// A pooled connection that answers RSET, else a new one. Never pooled with XCLIENT: a
    /// pooled connection speaks for the client it was opened for.
    private func acquire(_ client: ClientFacts, deadlines: StepDeadlines, logger: Logger) async throws -> DownstreamConnection {
        if let pool, !options.xclient {
            while let idle = await pool.take() {
                if await idle.reset(deadline: deadlines.command) { return idle }
                await idle.close()
            }
        }
        return try await DownstreamConnection.open(options, connector: connector, client: client, deadlines: deadlines, logger: logger)
    }

    private func release(_ connection: DownstreamConnection, clean: Bool, deadlines: StepDeadlines) async {
        if clean, let pool, !options.xclient {
            await pool.put(connection)
        } else {
            await connection.quit(deadline: deadlines.courtesy)
        }
    }

    /// Whether any byte has the high bit set: then MAIL says BODY=8BITMIME (RFC 6152). A read
    /// through the spool, asked only of a downstream that offers 8BITMIME.
    static func hasEightBitBytes(_ message: OutgoingMessage) async throws -> Bool {
        for try await chunk in message where chunk.contains(where: { $0 >= 0x80 }) {
            return true
        }
        return false
    }
}
