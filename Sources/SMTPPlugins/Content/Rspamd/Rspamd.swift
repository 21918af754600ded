public import SMTPPluginAPI

/// `rspamd [HOST:PORT|/path/socket] [option value ...]` (not in qpsmtpd): asks rspamd's normal
/// worker about each message at data_post with `POST /checkv2` (the envelope, client address,
/// HELO, rDNS name, AUTH user and queue id as request fields; the message streamed from the
/// spool) and acts on its action: `reject` 554 5.7.1, `soft reject` 451 4.7.1, `greylist` through
/// the greylisting plugin's store, `rewrite subject` and `add header` mark the message, `no
/// action` passes. rspamd's milter header changes are applied, the verdict kept in the
/// transaction note `rspamd`. An rspamd that cannot be reached, times out or answers badly lets
/// the message through unless `defer_on_error yes` asks for a 451 (see `RspamdSettings`).
public struct Rspamd: SMTPPlugin {
    let settings: RspamdSettings

    static let greylistText = "4.7.1 Try again later (greylisted)"

    public init(context: PluginContext) throws {
        settings = try RspamdSettings(context.arguments)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            await check(transaction, context: context)
        }
    }

    func check(_ transaction: Transaction, context: HookContext) async -> HookResult {
        let logger = context.logger
        guard let body = context.messageToScan(transaction, sizeLimit: settings.maxSize, skipRelayClients: settings.skipRelayClients) else {
            return .declined
        }
        let connection = context.connection
        let request = RspamdRequest(
            sender: transaction.sender?.address ?? "", recipients: transaction.recipients.map(\.address),
            clientIP: connection.remoteIP, helo: connection.helloHost, hostname: connection.remoteHost,
            user: connection.authUser, queueID: transaction.id)
        let client = RspamdClient(connector: context.services.connector, endpoint: settings.endpoint, reader: context.services.spool)
        let reply: RspamdReply
        do {
            reply = try await client.check(body, header: transaction.header, request: request, deadline: context.scanDeadline)
        } catch {
            logger.error("error, rspamd at \(settings.endpoint): \(error)")
            return settings.deferOnError ? .denySoft("4.7.1 Unable to scan for spam, try again later") : .declined
        }
        let result = reply.result
        transaction[note: .rspamd] = result
        if result.isSpam { context.adjustKarma(by: -1) }
        let decision = RspamdDecision(reply)
        let summary = "\(result.action), score \(RspamdHeaders.format(result.score))"

        switch decision {
        case .reject(let text):
            logger.info("fail, \(summary)")
            return (context.policy.rejectType ?? .perm).result(text)
        case .softReject(let text):
            logger.info("fail, \(summary)")
            return .denySoft(text)
        case .greylist:
            if await greylists(transaction, context: context) {
                logger.info("fail, \(summary): greylisted")
                return .denySoft(Self.greylistText)
            }
        case .pass:
            break
        }
        logger.info("pass, \(summary)")
        let options = settings
        // A greylisted message that passes is ham as far as the headers go.
        let passing = decision == .greylist ? .pass(markSpam: false, subject: nil) : decision
        transaction.modifyHeader { header in
            RspamdHeaders.apply(reply, decision: passing, settings: options, to: &header)
        }
        return .declined
    }

    /// True while any recipient's (client, sender, recipient) triplet is still grey: the first
    /// try and retries before `greylist_delay` are refused, a later retry passes and whitelists
    /// the triplet as the greylisting plugin would. Immune clients are not greylisted; a store
    /// that fails lets the message through.
    func greylists(_ transaction: Transaction, context: HookContext) async -> Bool {
        if context.isImmune {
            context.logger.info("greylist skipped, immune client")
            return false
        }
        var greylist = Greylisting.Settings()
        greylist.blackTimeout = settings.greylistDelay
        greylist.greyTimeout = max(greylist.greyTimeout, settings.greylistDelay)
        let store = GreylistStore(context.services.store)
        let now = Int(context.services.clock.now.secondsSinceEpoch)
        let sender = transaction.sender?.address.lowercased() ?? ""
        var refused = false
        for recipient in transaction.recipients {
            let key = GreylistStore.key([context.connection.remoteIP, sender, recipient.address.lowercased()])
            do {
                let (verdict, _) = try await store.visit(key, at: now, greylist)
                context.logger.info("greylist \(key): \(verdict)")
                refused = refused || verdict.refuses
            } catch {
                context.logger.error("error, state store: \(error); not greylisting \(key)")
            }
        }
        return refused
    }
}
