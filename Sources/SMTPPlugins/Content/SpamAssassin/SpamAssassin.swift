public import SMTPPluginAPI

/// `spamassassin [option value ...]`: asks spamd about each message at data_post, adds its
/// X-Spam-* fields, keeps the verdict in the transaction note `spamassassin`, and optionally
/// prefixes the subject and refuses spam (qpsmtpd's plugin; see `SpamAssassinSettings` for the
/// options). A spamd that cannot be reached, times out or answers badly lets the message through
/// unscored, as qpsmtpd does, unless `defer_on_error yes` asks for a 451 instead.
public struct SpamAssassin: SMTPPlugin {
    let settings: SpamAssassinSettings

    public init(context: PluginContext) throws {
        settings = try SpamAssassinSettings(context.arguments, config: context.config)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            await check(transaction, context: context)
        }
    }

    func check(_ transaction: Transaction, context: HookContext) async -> HookResult {
        let logger = context.logger
        guard let body = context.messageToScan(transaction, sizeLimit: settings.sizeLimit, skipRelayClients: settings.skipRelayClients) else {
            return .declined
        }
        let recipients = transaction.recipients
        let user = spamdUser(recipients: recipients)
        let client = SpamdClient(connector: context.services.connector, endpoint: settings.endpoint, reader: context.services.spool)
        let reply: SpamdReply
        do {
            reply = try await client.check(
                body, header: transaction.header, sender: transaction.sender?.formatted ?? "<>", user: user,
                command: settings.addHeaders ? .headers : .symbols, deadline: context.scanDeadline)
        } catch {
            logger.error("error, spamd at \(settings.endpoint): \(error)")
            return failure()
        }
        guard let result = Self.result(of: reply) else {
            logger.error("error, spamd at \(settings.endpoint) gave no verdict")
            return failure()
        }
        transaction[note: .spamAssassin] = result
        logger.info("spamd: score \(result.score), tests \(result.details["tests"] ?? "(none listed)")")
        if result.isSpam { context.adjustKarma(by: -1) }

        let options = settings
        transaction.modifyHeader { header in
            if options.addHeaders {
                let spamUser = recipients.count > 1 ? "\(user), \(recipients.count) recipients" : nil
                SpamHeaders.apply(reply.fields, spamUser: spamUser, oldHeaders: options.oldHeaders, to: &header)
            }
            if let threshold = options.mungeSubjectThreshold, result.score >= threshold {
                SpamHeaders.mungeSubject(prefix: options.subjectPrefix, in: &header)
            }
        }
        return verdict(result, context: context)
    }

    /// Refuses at the `reject` score (or spamd's own `required` with `reject userprefs`).
    func verdict(_ result: SpamAssassinResult, context: HookContext) -> HookResult {
        let kind = result.isSpam ? "Spam" : "Ham"
        let threshold: Double
        switch settings.reject {
        case .never:
            context.logger.info("pass, reject disabled (\(kind), \(result.score))")
            return .declined
        case .atScore(let score):
            threshold = score
        case .userPrefs:
            guard let required = result.required else {
                context.logger.info("pass, no required score from spamd (\(kind), \(result.score))")
                return .declined
            }
            threshold = required
        }
        guard result.score >= threshold else {
            context.logger.info("\(result.isSpam ? "fail, tolerated" : "pass"), \(kind), \(result.score) < \(threshold)")
            return .declined
        }
        context.logger.info("fail, \(kind), \(result.score) >= \(threshold)")
        return (context.policy.rejectType ?? .perm).result("spam score exceeded threshold")
    }

    /// The message goes on unscored (qpsmtpd), or is deferred with `defer_on_error yes`.
    func failure() -> HookResult {
        settings.deferOnError ? .denySoft("4.7.1 Unable to scan for spam, try again later") : .declined
    }

    /// spamd's `User:`: the configured user; with `spamd_user vpopmail` and one recipient, the
    /// recipient's address, so spamd reads that user's preferences (qpsmtpd's per-user prefs).
    func spamdUser(recipients: [Mailbox]) -> String {
        guard let configured = settings.spamdUser else { return SpamAssassinSettings.processUser() }
        if configured == "vpopmail", recipients.count == 1 { return recipients[0].address }
        return configured
    }

    /// The verdict from spamd's X-Spam-Status field, or from its `Spam:` line when the site's
    /// SpamAssassin configuration writes no such field or no header was asked for (SYMBOLS: the
    /// rules' names become the note's `tests`, as X-Spam-Status would have listed them).
    static func result(of reply: SpamdReply) -> SpamAssassinResult? {
        if let status = reply.fields.first(where: { $0.name.lowercased() == "x-spam-status" }),
           let result = SpamAssassinResult.parse(status: status.value) {
            return result
        }
        guard let verdict = reply.verdict else { return nil }
        let details = reply.symbols.map { ["tests": $0.joined(separator: ",")] } ?? [:]
        return SpamAssassinResult(isSpam: verdict.isSpam, score: verdict.score, required: verdict.required, details: details)
    }
}
