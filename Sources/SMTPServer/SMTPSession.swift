import Logging
import NIOCore
import SMTPCore
import SMTPPluginAPI

/// One SMTP conversation: reads framed parts, runs the hooks each command calls for, and answers.
/// Lives inside one task; only the plugins it awaits run elsewhere.
public final class SMTPSession {
    let environment: SessionEnvironment
    public let connection: Connection
    let sink: any SMTPReplySink
    var logger: Logger
    var settings: SessionSettings { environment.settings }
    var hooks: HookRunner { environment.hooks }

    var transaction: Transaction?
    var pending: [SMTPOutboundPart] = []
    var commandCount = 0
    var closing = false
    var shutdownRequested = false
    /// Relay permission as the connect hooks left it; STARTTLS goes back to it (RFC 3207 §4.2).
    var relayAfterConnect = false
    /// AUTH failures on this connection, for the growing delay.
    var authFailures = 0

    public init(environment: SessionEnvironment, connection: Connection, sink: any SMTPReplySink) {
        self.environment = environment
        self.connection = connection
        self.sink = sink
        var logger = environment.logger
        logger[metadataKey: "conn"] = "\(connection.id)"
        self.logger = logger
    }

    /// Runs the whole session: greeting, commands until QUIT, EOF or a disconnecting result, then
    /// the disconnect hooks.
    public func run<Inbound: AsyncIteratorProtocol>(inbound: inout Inbound) async where Inbound.Element == SMTPInboundPart {
        logger.info("connect from \(connection.remoteIP):\(connection.remotePort)")
        let greeting = CommandResponses.connect(await hooks.run(.connect, call()), greeting: settings.greetingText)
        relayAfterConnect = connection.isRelayClient
        respond(greeting)
        do {
            try await flush()
            while !closing, let part = try await inbound.next() {
                try await handle(part, inbound: &inbound)
            }
            try await flush()
        } catch {
            logger.debug("connection ended: \(error)")
        }
        await resetTransaction()
        _ = await hooks.run(.disconnect, call())
        _ = await hooks.run(.postConnection, call())
        logger.info("disconnect from \(connection.remoteIP) after \(commandCount) commands")
    }

    private func handle<Inbound: AsyncIteratorProtocol>(_ part: SMTPInboundPart, inbound: inout Inbound) async throws where Inbound.Element == SMTPInboundPart {
        switch part {
        case .command(let line):
            commandCount += 1
            if commandCount > settings.limits.maxCommandsPerSession {
                respond(Response(421, EnhancedStatusCode(4, 7, 0), "\(settings.hostName) Too many commands, closing connection", disconnect: true))
                return
            }
            try await command(line, inbound: &inbound)
        case .commandLineTooLong:
            // RFC 5321 §4.5.3.1.4: the limit is 512 octets, and 500 is the reply for a line too long.
            respond(Response(500, .syntaxError, "Line too long (more than \(settings.limits.maxCommandLineLength) octets)"))
        case .batchEnd:
            try await flush()
        case .timedOut(let what):
            respond(timedOut(what))
        case .shutdownRequested:
            // Between commands nothing has been promised yet: the client is told to come back
            // later and will retry the transaction. A message being received is finished first
            // (see receiveMessage).
            respond(shuttingDown())
        case .tlsEstablished(let version):
            connection.tlsCipher = version
            logger.info("TLS established: \(version)")
        case .tlsFailed(let reason):
            logger.warning("TLS handshake failed: \(reason)")
        case .discardedAfterSTARTTLS(let octets):
            logger.warning("discarded \(octets) octets sent in clear after STARTTLS (command injection attempt?)")
        case .dataChunk, .dataEnd:
            // Only read inside DATA; the framer cannot produce them in command mode.
            break
        }
    }

    /// 421 4.4.2 (RFC 3463: connection timed out), then close.
    func timedOut(_ what: SMTPTimeout) -> Response {
        logger.notice("timeout: \(what == .message ? "message not received in time" : "no complete command in time")")
        let text = what == .message ? "Message not received in time" : "Timeout"
        return Response(421, .connectionTimedOut, "\(settings.hostName) \(text) - closing connection", disconnect: true)
    }

    func shuttingDown() -> Response {
        Response(421, .systemNotAccepting, "\(settings.hostName) Service shutting down, closing connection", disconnect: true)
    }

    // MARK: Replies

    func respond(_ response: Response, then: SMTPOutboundPart.Then = .continue) {
        let effective: SMTPOutboundPart.Then = response.disconnect ? .close : then
        logger.debug(">> \(response.reply.code) \(response.reply.text)")
        pending.append(SMTPOutboundPart(response.reply, then: effective))
        if response.disconnect { closing = true }
    }

    func flush() async throws {
        guard !pending.isEmpty else { return }
        let parts = pending
        pending.removeAll(keepingCapacity: true)
        try await sink.send(parts)
    }

    func call(_ payload: HookPayload = .none) -> HookCall {
        HookCall(connection: connection, transaction: transaction, payload: payload)
    }

    // MARK: Commands

    private func command<Inbound: AsyncIteratorProtocol>(_ line: ByteBuffer, inbound: inout Inbound) async throws where Inbound.Element == SMTPInboundPart {
        // DATA, BDAT and STARTTLS paused the framer; whatever we answer must say how to go on.
        let pausedFramer = SMTPFramer.changesReadingMode(line)
        let then: SMTPOutboundPart.Then = pausedFramer ? .readCommands : .continue
        if line.readableBytesView.contains(0) || line.readableBytesView.contains(UInt8(ascii: "\r")) {
            respond(Response(500, .syntaxError, "Syntax error: command contains a NUL or a bare CR"), then: then)
            return
        }
        let parsed = SMTPCommandLine(parsing: String(buffer: line))
        // AUTH arguments are credentials: they never reach the log.
        logger.debug("<< \(parsed.verb) \(parsed.verb == "auth" ? "<hidden>" : parsed.argument)")
        guard let verb = parsed.knownCommand, isOffered(verb) else {
            let outcome = await hooks.run(.unrecognizedCommand, call(.unrecognized(verb: parsed.verb, argument: parsed.argument)))
            respond(CommandResponses.unrecognized(outcome, verb: parsed.verb), then: then)
            return
        }
        switch verb {
        case .helo, .ehlo: await greeting(verb, parsed.argument)
        case .mail: await mail(parsed.argument)
        case .rcpt: await rcpt(parsed.argument)
        case .data: try await data(parsed.argument, inbound: &inbound)
        case .rset:
            await resetTransaction()
            respond(Response(250, .ok, "OK"))
        case .noop: respond(CommandResponses.noop(await hooks.run(.noop, call())))
        case .vrfy: respond(CommandResponses.vrfy(await hooks.run(.vrfy, call(.argument(parsed.argument)))))
        case .help:
            let first = settings.greeting == nil ? "This is qpsmtpd \(SessionSettings.version)" : "This is qpsmtpd "
            let lines = [first, "See https://github.com/smtpd/qpsmtpd/", "To report bugs or send comments, mail to <postmaster@\(settings.hostName)>."]
            respond(CommandResponses.help(await hooks.run(.help, call(.argument(parsed.argument))), defaultLines: lines))
        case .quit:
            respond(CommandResponses.quit(await hooks.run(.quit, call()), hostName: settings.hostName))
        case .starttls:
            await startTLS(parsed.argument)
        case .auth:
            try await authenticate(parsed.argument, inbound: &inbound)
        }
    }

    /// HELO/EHLO. qpsmtpd refuses a second greeting with 503; RFC 5321 §4.1.4 lets a client greet
    /// again and says the server must then reset as for RSET, which is what we do.
    private func greeting(_ verb: SMTPVerb, _ argument: String) async {
        let words = argument.split(separator: " ").map(String.init)
        guard let host = words.first else {
            respond(Response(501, .invalidArguments, "\(verb.rawValue) requires domain/address - see RFC-5321 4.1.1.1"))
            return
        }
        await resetTransaction()
        _ = connection.takeAdvertisedCapabilities()
        let point: HookPoint = verb == .ehlo ? .ehlo : .helo
        let outcome = await hooks.run(point, call(.greeting(host: host, words: Array(words.dropFirst()))))
        let firstLine = "\(settings.hostName) Hi \(connection.remoteInfo) [\(connection.remoteIP)]"
        var lines = [verb == .ehlo ? firstLine : firstLine + "; I am so happy to meet you."]
        if verb == .ehlo {
            lines += ["PIPELINING", "8BITMIME"]
            if settings.limits.maxMessageSize > 0 { lines.append("SIZE \(settings.limits.maxMessageSize)") }
            lines.append("ENHANCEDSTATUSCODES")
            if isOffered(.starttls) && !connection.isTLS { lines.append("STARTTLS") }
            if authAdvertised { lines.append("AUTH " + authMechanisms.map(\.rawValue).joined(separator: " ")) }
            lines += connection.takeAdvertisedCapabilities()
        }
        // RFC 2034 §3: no enhanced code in the HELO/EHLO reply.
        let accept = Response(reply: SMTPReply(code: 250, lines: lines))
        let response = CommandResponses.greeting(outcome, verb: verb.rawValue, accept: accept)
        if response.reply.code == 250 {
            connection.hello = verb == .ehlo ? .ehlo : .helo
            connection.helloHost = host
        }
        respond(response)
    }

    private func mail(_ argument: String) async {
        guard connection.hello != nil else {
            respond(Response(503, .invalidCommand, "please say hello first ..."))
            return
        }
        // qmail semantics, kept by qpsmtpd: MAIL always starts a new transaction.
        await resetTransaction()
        let txn = Transaction(id: SessionIDs.next())
        transaction = txn
        guard let (sender, parameters) = await envelopePath(
            argument, verb: "mail", preHook: .mailPre, split: PathParser.splitMailArgument,
            parse: PathParser.parseReversePath, unparsable: "could not parse your mail from command", badSyntax: .badSenderSyntax)
        else { return }
        if let refusal = checkMailParameters(parameters) {
            respond(refusal)
            return
        }
        let response = CommandResponses.mail(await hooks.run(.mail, call(.sender(sender, parameters))), sender: sender)
        if response.reply.code == 250 {
            txn.sender = sender
            txn.senderParameters = parameters
        }
        respond(response)
    }

    /// SIZE (RFC 1870) and BODY (RFC 6152) are ours; AUTH= (RFC 4954) is accepted for the auth
    /// plugins; anything else was never advertised, so RFC 5321 §4.1.1.11 asks for 555.
    private func checkMailParameters(_ parameters: [ESMTPParameter]) -> Response? {
        for parameter in parameters {
            switch parameter.keyword {
            case "SIZE":
                guard let text = parameter.value, let size = Int(text), size >= 0 else {
                    return Response(501, .invalidArguments, "Syntax error in SIZE parameter")
                }
                let limit = settings.limits.maxMessageSize
                if limit > 0 && size > limit {
                    return Response(552, .messageTooBig, "Message size exceeds fixed maximum message size (\(limit) octets)")
                }
            case "BODY":
                guard let value = parameter.value?.uppercased(), value == "7BIT" || value == "8BITMIME" else {
                    return Response(501, .invalidArguments, "BODY must be 7BIT or 8BITMIME")
                }
            case "AUTH":
                continue
            default:
                return Response(555, .invalidArguments, "Unsupported parameter \(parameter.keyword)")
            }
        }
        return nil
    }

    private func rcpt(_ argument: String) async {
        guard let txn = transaction, txn.sender != nil else {
            respond(Response(503, .invalidCommand, "Use MAIL before RCPT"))
            return
        }
        if txn.recipients.count >= settings.limits.maxRecipients {
            respond(Response(452, .tooManyRecipients, "Too many recipients"))
            return
        }
        guard let (recipient, parameters) = await envelopePath(
            argument, verb: "rcpt", preHook: .rcptPre, split: PathParser.splitRcptArgument,
            parse: PathParser.parseForwardPath, unparsable: "could not parse recipient", badSyntax: .badDestinationSyntax)
        else { return }
        if let parameter = parameters.first {
            respond(Response(555, .invalidArguments, "Unsupported parameter \(parameter.keyword)"))
            return
        }
        let response = CommandResponses.rcpt(await hooks.run(.rcpt, call(.recipient(recipient, parameters))), recipient: recipient)
        if response.reply.code == 250 { txn.addRecipient(recipient) }
        respond(response)
    }

    /// MAIL and RCPT share their first steps (reference §1.6): split the argument, let `*_pre`
    /// plugins rewrite the path (`dont_require_anglebrackets`), then parse it. Answers and returns
    /// nil when any step refuses.
    private func envelopePath<Path>(
        _ argument: String, verb: String, preHook: HookPoint,
        split: (String) throws(PathSyntaxError) -> PathArgument,
        parse: (String) throws(PathSyntaxError) -> Path,
        unparsable: String, badSyntax: EnhancedStatusCode
    ) async -> (Path, [ESMTPParameter])? {
        let parts: PathArgument
        do {
            parts = try split(argument)
        } catch {
            respond(Response(501, .syntaxError, error.message))
            return nil
        }
        var pathText = parts.path ?? ""
        switch await hooks.run(preHook, call(.path(pathText, parts.parameters))) {
        case .answered(.ok(let replacement?), _): pathText = replacement
        case .failed(let plugin, _):
            respond(CommandResponses.failure(verb, plugin: plugin))
            return nil
        default: break
        }
        do throws(PathSyntaxError) {
            guard !pathText.isEmpty else { throw PathSyntaxError(unparsable) }
            return (try parse(pathText), parts.parameters)
        } catch {
            respond(Response(501, badSyntax, error.message))
            return nil
        }
    }

    // MARK: DATA

    private func data<Inbound: AsyncIteratorProtocol>(_ argument: String, inbound: inout Inbound) async throws where Inbound.Element == SMTPInboundPart {
        guard argument.isEmpty else {
            respond(Response(501, .invalidArguments, "Syntax error: DATA takes no arguments"), then: .readCommands)
            return
        }
        guard connection.hello != nil else {
            respond(Response(503, .invalidCommand, "please say hello first ..."), then: .readCommands)
            return
        }
        guard let txn = transaction, txn.sender != nil else {
            respond(Response(503, .invalidCommand, "MAIL first"), then: .readCommands)
            return
        }
        guard !txn.recipients.isEmpty else {
            respond(Response(503, .invalidCommand, "RCPT first"), then: .readCommands)
            return
        }
        let response = CommandResponses.data(await hooks.run(.data, call()))
        guard response.reply.code == 354 else {
            respond(response, then: .readCommands)
            if !response.reply.isPositive { await resetTransaction() }
            return
        }
        respond(response, then: .readMessage)
        try await flush()
        try await receiveMessage(txn, inbound: &inbound)
    }

    /// Reads the message after 354 into the spool, then runs data_post and queue.
    private func receiveMessage<Inbound: AsyncIteratorProtocol>(_ txn: Transaction, inbound: inout Inbound) async throws where Inbound.Element == SMTPInboundPart {
        let limits = settings.limits
        let spool = SpooledMessage(spoolDirectory: settings.spoolDirectory, memoryThreshold: limits.spoolMemoryThreshold)
        txn.body = spool
        var head: [UInt8] = []
        var headerDone = false
        var received = 0
        var spoolError: (any Error)?
        var defects: SMTPFramer.DataDefects?

        func finishHeader(_ parsed: MessageHeader.ParseResult) async -> Bool {
            txn.header = parsed.header
            spool.bodyOffset = parsed.bodyOffset
            headerDone = true
            head = []
            if let response = CommandResponses.dataHeadersEnd(await hooks.run(.dataHeadersEnd, call())) {
                respond(response)
                return false
            }
            return true
        }

        reading: while let part = try await inbound.next() {
            switch part {
            case .dataChunk(let chunk):
                received += chunk.readableBytes
                // Over the limit: keep reading to the end so the client can hear our 552.
                if limits.maxMessageSize > 0 && received > limits.maxMessageSize { continue }
                if spoolError == nil {
                    do { try chunk.withUnsafeReadableBytes { try spool.append($0) } } catch { spoolError = error }
                }
                if !headerDone {
                    head.append(contentsOf: chunk.readableBytesView)
                    if let parsed = MessageHeader.parse(head, isComplete: false) ?? (head.count > limits.maxHeaderSize ? MessageHeader.parse(head, isComplete: true) : nil) {
                        if await !finishHeader(parsed) { return }
                    }
                }
            case .dataEnd(let found):
                defects = found
                break reading
            case .timedOut(let what):
                respond(timedOut(what))
                return
            case .shutdownRequested:
                shutdownRequested = true
            case .batchEnd, .command, .commandLineTooLong, .tlsEstablished, .tlsFailed, .discardedAfterSTARTTLS:
                continue
            }
        }
        guard let defects else { return }  // the client went away inside DATA; nothing was accepted

        if limits.maxMessageSize > 0 && received > limits.maxMessageSize {
            respond(Response(552, .messageTooBig, "Message too big! (more than \(limits.maxMessageSize) octets)"))
            await resetTransaction()
            return
        }
        if defects.bareLineFeed || defects.bareCarriageReturn {
            // RFC 5321 §2.3.8: CR and LF only ever travel together. Accepting either alone is what
            // makes SMTP smuggling possible, so the whole message is refused.
            respond(Response(550, .contentError, "Message contains a bare \(defects.bareLineFeed ? "LF" : "CR"); lines must end with CRLF (RFC 5321 2.3.8)"))
            await resetTransaction()
            return
        }
        if defects.overlongLine {
            respond(Response(550, .contentError, "Message contains a line longer than \(limits.maxDataLineLength) octets (RFC 5321 4.5.3.1.6)"))
            await resetTransaction()
            return
        }
        if let spoolError {
            logger.error("spool failed: \(spoolError)")
            respond(Response(451, CommandResponses.internalError, "Internal error - could not store the message, try again later"))
            await resetTransaction()
            return
        }
        if !headerDone, await !finishHeader(MessageHeader.parse(head, isComplete: true)!) { return }
        try await finishMessage(txn)
    }

    /// From the end of DATA to the queue's answer (reference §1.4, "After the terminator").
    private func finishMessage(_ txn: Transaction) async throws {
        _ = await hooks.run(.dataPostHeaders, call())
        addTraceHeaders(txn, receivedValue: await receivedValue(txn))

        if let refusal = CommandResponses.dataPost(await hooks.run(.dataPost, call())) {
            respond(refusal)
            await resetTransaction()
            return
        }
        if let refusal = CommandResponses.queuePre(await hooks.run(.queuePre, call())) {
            respond(refusal)
            await resetTransaction()
            return
        }
        let queueOutcome = await hooks.run(.queue, call())
        let response = CommandResponses.queue(queueOutcome)
        logger.info("message \(txn.id) from \(txn.sender?.formatted ?? "<>") to \(txn.recipients.count) recipient(s), \(txn.dataSize) octets: \(response.reply.code) \(response.reply.text)")
        await resetTransaction()
        respond(response)
        _ = await hooks.run(.queuePost, HookCall(connection: connection, transaction: txn))
        if shutdownRequested && !closing { respond(shuttingDown()) }
    }

    private func receivedValue(_ txn: Transaction) async -> String {
        let context = ReceivedHeader.context(for: connection)
        if case .answered(.ok(let value?), _) = await hooks.run(.receivedLine, call(.receivedLine(context))) {
            return value
        }
        return ReceivedHeader.value(for: connection, hostName: settings.hostName, version: SessionSettings.version)
    }

    /// Received on top, and an Authentication-Results header when there is something to report.
    /// Any Authentication-Results the client sent is renamed first (RFC 8601 §5): it is not ours.
    private func addTraceHeaders(_ txn: Transaction, receivedValue: String) {
        var results: [String] = []
        if let user = connection.authUser {
            results.append("auth=pass (\(connection.authMechanism ?? "")) smtp.auth=\(user)")
        }
        results += connection[note: .authenticationResults] ?? []
        txn.modifyHeader { header in
            header.rename("Authentication-Results", to: "Original-Authentication-Results")
            header.prepend("Received", receivedValue)
            if !results.isEmpty {
                header.prepend("Authentication-Results", "\(settings.hostName); " + results.joined(separator: ";\n\t"))
            }
        }
    }

    func resetTransaction() async {
        guard let txn = transaction else { return }
        transaction = nil
        _ = await hooks.run(.resetTransaction, HookCall(connection: connection, transaction: txn))
    }
}
