import Logging
import NIOCore
import SMTPCore
public import SMTPPluginAPI

/// The async driver of one SMTP conversation: reads framed parts, asks the state machine
/// (`SMTPSessionMachine`) whether a command may run, runs the hooks it calls for, reports the
/// outcome back, and answers with the reading mode the machine chose. The commands live in the
/// files next to this one: greeting and envelope, DATA, STARTTLS, AUTH.
public final class SMTPSession {
    let environment: SessionEnvironment
    public let connection: Connection
    let sink: any SMTPReplySink
    var logger: Logger
    var settings: SessionSettings { environment.settings }
    var hooks: HookRunner { environment.hooks }

    var machine: SMTPSessionMachine
    var transaction: Transaction?
    var pending: [SMTPOutboundPart] = []
    var commandCount = 0
    var shutdownRequested = false
    /// The line being answered stopped the framer (`ReadingMode.replyDecidesMode`, or a SASL
    /// answer): the next reply must tell it how to read on.
    var lineDecidesMode = false
    /// Relay permission as the connect hooks left it; STARTTLS goes back to it (RFC 3207 §4.2).
    var relayAfterConnect = false
    /// AUTH failures on this connection, for the growing delay and the per-connection limit.
    var authFailures = 0

    var closing: Bool { machine.state == .closing }

    public init(environment: SessionEnvironment, connection: Connection, sink: any SMTPReplySink) {
        self.environment = environment
        self.connection = connection
        self.sink = sink
        var logger = environment.logger
        logger[metadataKey: "conn"] = "\(connection.id)"
        self.logger = logger
        let offer = SMTPSessionMachine.Offer(
            startTLS: environment.tls != nil, auth: !Self.authMechanisms(environment.hooks).isEmpty,
            tlsBeforeAuth: environment.settings.tlsBeforeAuth, maxRecipients: environment.settings.limits.maxRecipients)
        // On implicit-TLS listeners the handshake's end arrives as `.tlsEstablished`, as after STARTTLS.
        machine = SMTPSessionMachine(offer: offer)
    }

    /// Runs the whole session: greeting, commands until QUIT, EOF or a disconnecting result, then
    /// the disconnect hooks.
    public func run<Inbound: AsyncIteratorProtocol>(inbound: inout Inbound) async where Inbound.Element == SMTPInboundPart {
        logger.info("connect from \(connection.remoteIP):\(connection.remotePort)")
        let greeting = CommandResponses.connect(await hooks.run(.connect, call()), greeting: settings.greetingText)
        relayAfterConnect = connection.isRelayClient
        machine.apply(.greeted(accepted: !greeting.disconnect))
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
            lineDecidesMode = ReadingMode.replyDecidesMode(forLine: line.readableBytesView)
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
            machine.apply(.tlsEstablished)
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

    /// Queues a reply. The machine's state says how the bytes after it are read; report the
    /// events that change it (354, 334, STARTTLS's 220) before answering.
    func respond(_ response: Response) {
        if response.disconnect { machine.apply(.closing) }
        let mode = machine.readingMode(lineDecidesMode: lineDecidesMode)
        if mode != nil { lineDecidesMode = false }
        logger.debug(">> \(response.reply.code) \(response.reply.text)")
        pending.append(SMTPOutboundPart(response.reply, then: mode))
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
        if line.readableBytesView.contains(0) || line.readableBytesView.contains(UInt8(ascii: "\r")) {
            respond(Response(500, .syntaxError, "Syntax error: command contains a NUL or a bare CR"))
            return
        }
        let parsed = SMTPCommandLine(parsing: String(buffer: line))
        // AUTH arguments are credentials: they never reach the log.
        logger.debug("<< \(parsed.verb) \(parsed.verb == "auth" ? "<hidden>" : parsed.argument)")
        let verb: SMTPVerb
        switch machine.check(parsed.knownCommand, argument: parsed.argument) {
        case .refuse(let reply):
            respond(Response(reply: reply))
            return
        case .unrecognized:
            let outcome = await hooks.run(.unrecognizedCommand, call(.unrecognized(verb: parsed.verb, argument: parsed.argument)))
            respond(CommandResponses.unrecognized(outcome, verb: parsed.verb))
            return
        case .proceed(let allowed):
            verb = allowed
        }
        switch verb {
        case .helo, .ehlo: await greeting(verb, parsed.argument)
        case .mail: await mail(parsed.argument)
        case .rcpt: await rcpt(parsed.argument)
        case .data: try await data(inbound: &inbound)
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
            await startTLS()
        case .auth:
            try await authenticate(parsed.argument, inbound: &inbound)
        }
    }

    /// Ends the transaction, if any, and tells the `reset_transaction` hooks.
    func resetTransaction() async {
        if machine.state == .inTransaction { machine.apply(.transactionReset) }
        guard let txn = transaction else { return }
        transaction = nil
        _ = await hooks.run(.resetTransaction, HookCall(connection: connection, transaction: txn))
    }
}
