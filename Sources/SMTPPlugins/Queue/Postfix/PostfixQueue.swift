#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI

/// `queue/postfix-queue [SOCKET|HOST:PORT] [FLAG_…]…`: hands each message to Postfix's cleanup
/// service, which writes it into Postfix's queue (qpsmtpd's plugin of the same name). Where
/// cleanup listens: `POSTFIXQUEUE`, else `cleanup_sockets`, else the first word, else
/// `/var/spool/postfix/public/cleanup` (`CleanupEndpoints`). The other words are cleanup flags
/// (`CleanupFlags`). `250 Queued! <Message-Id> (Queue-Id: <id>)` only after cleanup answered
/// status 0, which it does once the queue file is on disk; Postfix's refusals become 4xx/5xx
/// with its reason (`CleanupStatus`); no answer at all is `451 4.3.0`.
public struct PostfixQueue: SMTPPlugin {
    let endpoints: [OutboundEndpoint]
    let flags: Int
    /// One connection attempt may take this long, so a dead first socket leaves time for the next.
    static let connectTimeout: Duration = .seconds(10)

    /// Words every plugin understands (`PluginPolicy`), each with its value: not flags.
    private static let commonKeys: Set<String> = ["timeout", "loglevel", "reject", "reject_type"]

    public init(context: PluginContext) throws {
        let environment = getenv("POSTFIXQUEUE").map { String(cString: $0) }
        try self.init(context: context, environment: environment)
    }

    /// With `POSTFIXQUEUE`'s value given, for tests.
    init(context: PluginContext, environment: String?) throws {
        var words: [String] = []
        var index = 0
        let all = context.arguments.words
        while index < all.count {
            if Self.commonKeys.contains(all[index]) {
                index += 2
                continue
            }
            words.append(all[index])
            index += 1
        }
        var socket: String?
        if let first = words.first, CleanupEndpoints.looksLikeEndpoint(first) {
            socket = first
            words.removeFirst()
        }
        flags = try CleanupFlags.parse(words)
        endpoints = try CleanupEndpoints.choose(
            environment: environment, configured: context.config.entries("cleanup_sockets"), argument: socket)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQueue { context, transaction in
            await queue(transaction, context: context)
        }
    }

    func queue(_ transaction: Transaction, context: HookContext) async -> HookResult {
        guard let body = transaction.body else {
            return .denySoft("4.3.0 no message to queue")
        }
        // Our own deadline a little before the hook's, so the client hears why, not the
        // runner's generic timeout.
        let margin = min(Duration.seconds(1), context.timeRemaining / 10)
        let deadline = context.deadline - margin
        let header = transaction.header
        // The hook's logger: its lines carry the connection id.
        let logger = context.logger
        guard let connection = await connect(before: deadline, connector: context.services.connector, logger: logger) else {
            return .denySoft("4.3.0 Unable to queue message: Postfix's cleanup service is unavailable")
        }

        var conversation = CleanupConversation(connection: connection, deadline: deadline)
        let queueID: String
        let verdict: (status: CleanupStatus, reason: String)
        do {
            queueID = try await conversation.readQueueID()
            verdict = try await conversation.send(
                flags: flags, arrival: context.services.clock.now,
                sender: transaction.sender?.address ?? "",
                recipients: transaction.recipients.map(\.address),
                content: OutgoingMessage(body, header: header, reader: context.services.spool))
        } catch {
            logger.error("cleanup conversation failed: \(error)")
            await connection.close()
            return .denySoft("4.3.0 Unable to queue message: Postfix's cleanup service did not answer")
        }
        await connection.close()

        guard verdict.status.isEmpty else {
            let result = verdict.status.hookResult(reason: verdict.reason)
            logger.warning("cleanup refused \(queueID): status \(verdict.status.rawValue), reason '\(CleanupStatus.printable(verdict.reason))'")
            return result
        }
        logger.info("queued as \(queueID)")
        // qpsmtpd's text; the Message-Id is cut at a line end so it cannot add a reply line.
        let messageID = String((header.value(of: "Message-Id") ?? "").prefix { $0 != "\r" && $0 != "\n" })
        return .ok(messageID.isEmpty ? "Queued! (Queue-Id: \(queueID))" : "Queued! \(messageID) (Queue-Id: \(queueID))")
    }

    /// The first endpoint that accepts a connection, in order.
    private func connect(
        before deadline: ContinuousClock.Instant, connector: any OutboundConnector, logger: Logger
    ) async -> (any OutboundConnection)? {
        for endpoint in endpoints {
            let attemptDeadline = min(deadline, .now + Self.connectTimeout)
            do {
                return try await connector.connect(to: endpoint, deadline: attemptDeadline)
            } catch {
                logger.error("cannot connect to cleanup at \(endpoint): \((error as? OutboundError)?.reason ?? "\(error)")")
            }
            if ContinuousClock.now >= deadline { break }
        }
        return nil
    }
}
