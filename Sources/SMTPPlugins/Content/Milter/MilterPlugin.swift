import SMTPCore
public import SMTPPluginAPI
import Logging

/// `milter NAME SOCKET [...]`: a milter client, protocol version 6, as Postfix runs one. The
/// conversation starts at SMTP connect and follows the session: HELO, MAIL, RCPT, DATA, unknown
/// commands, then at `data_post` the header fields, the body streamed from the spool in chunks,
/// and end of message, whose changes land on the transaction. Several lines run in the order of
/// `config/plugins`, each with its own connection, as Postfix chains `smtpd_milters`.
public struct MilterPlugin: SMTPPlugin {
    let settings: MilterArguments
    let note: NoteKey<MilterSessionState>

    /// Stop this long before the hook's deadline, so our own answer (default_action) goes out
    /// instead of the engine's plugin timeout.
    static let margin: Duration = .milliseconds(500)

    public init(context: PluginContext) throws {
        settings = try MilterArguments(context.arguments)
        note = NoteKey("milter:\(settings.name)")
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in await connect(context) }
        hooks.onHelo { context, host, _ in await helo(context, host) }
        hooks.onEhlo { context, host, _ in await helo(context, host) }
        hooks.onMail { context, transaction, sender, parameters in await mail(context, transaction, sender, parameters) }
        hooks.onRcpt { context, transaction, recipient, parameters in await rcpt(context, transaction, recipient, parameters) }
        hooks.onData { context, transaction in await data(context, transaction) }
        hooks.onDataPost { context, transaction in await endOfMessage(context, transaction) }
        hooks.onResetTransaction { context, _ in await reset(context) }
        hooks.onUnrecognizedCommand { context, verb, argument in await unknown(context, verb, argument) }
        hooks.onDisconnect { context in await disconnect(context) }
    }

    // MARK: Hooks

    func connect(_ context: HookContext) async -> HookResult {
        let state = MilterSessionState()
        context.connection[note: note] = state
        let limit = context.deadline - Self.margin
        let conversation: MilterConversation
        do {
            conversation = try await MilterConversation.open(
                settings.endpoint, connector: context.services.connector, deadline: min(ContinuousClock.now + settings.connectTimeout, limit))
        } catch {
            return fail(context, state, error)
        }
        state.update { $0.conversation = conversation }
        let connection = context.connection
        let command = MilterCommand.connect(
            hostName: connection.remoteHost ?? "[\(connection.remoteIP)]",
            address: MilterClientAddress(ip: connection.remoteIP, port: connection.remotePort))
        return await ask(context, state, command, stage: .connect, scope: .connection)
    }

    func helo(_ context: HookContext, _ host: String) async -> HookResult {
        if let refusal = context.connection[note: note]?.snapshot.connectionRefusal { return refusal.result(at: context.hook) }
        guard let state = usable(context) else { return .declined }
        return await ask(context, state, .helo(host), stage: .helo, scope: .connection)
    }

    func mail(_ context: HookContext, _ transaction: Transaction, _ sender: ReversePath, _ parameters: [ESMTPParameter]) async -> HookResult {
        guard let state = context.connection[note: note] else { return .declined }
        if let refusal = state.snapshot.connectionRefusal { return refusal.result(at: context.hook) }
        if state.snapshot.failed { return MilterVerdict.failure(settings.defaultAction, at: context.hook) }
        guard state.conversation != nil else { return .declined }
        state.update {
            $0.messageDone = false
            $0.discard = false
            $0.inMessage = true
        }
        let words = [sender.formatted] + parameters.map(\.written)
        return await ask(context, state, .mail(words), stage: .mail, scope: .message, sender: sender)
    }

    func rcpt(_ context: HookContext, _ transaction: Transaction, _ recipient: Mailbox, _ parameters: [ESMTPParameter]) async -> HookResult {
        guard let state = messageState(context) else { return inheritedResult(context) }
        let words = [recipient.formatted] + parameters.map(\.written)
        return await ask(context, state, .rcpt(words), stage: .rcpt, scope: .recipient, recipient: recipient.address)
    }

    func data(_ context: HookContext, _ transaction: Transaction) async -> HookResult {
        guard let state = messageState(context) else { return inheritedResult(context) }
        return await ask(context, state, .data, stage: .data, scope: .message)
    }

    func unknown(_ context: HookContext, _ verb: String, _ argument: String) async -> HookResult {
        guard let state = usable(context) else { return .declined }
        let line = argument.isEmpty ? verb.uppercased() : "\(verb.uppercased()) \(argument)"
        // A refusal here refuses this one command; the engine says "unrecognized" otherwise.
        return await ask(context, state, .unknown(line), stage: nil, scope: .recipient)
    }

    func reset(_ context: HookContext) async -> HookResult {
        guard let state = context.connection[note: note] else { return .declined }
        let fields = state.update { fields -> MilterSessionState.Fields in
            let before = fields
            fields.inMessage = false
            fields.messageDone = false
            fields.discard = false
            return before
        }
        if fields.inMessage, !fields.failed, let conversation = fields.conversation {
            do { try await conversation.abort(limit: min(ContinuousClock.now + settings.commandTimeout, context.deadline - Self.margin)) } catch {
                _ = fail(context, state, error)
            }
        }
        return .declined
    }

    func disconnect(_ context: HookContext) async -> HookResult {
        guard let state = context.connection[note: note], let conversation = state.conversation else { return .declined }
        state.update { $0.conversation = nil }
        await conversation.quit(limit: min(ContinuousClock.now + settings.commandTimeout, context.deadline - Self.margin))
        return .declined
    }

    /// data_post: header fields, end of headers, body chunks, end of message and its changes.
    func endOfMessage(_ context: HookContext, _ transaction: Transaction) async -> HookResult {
        guard let noted = context.connection[note: note] else { return .declined }
        if noted.snapshot.discard { return discarded(context, noted) }
        guard let state = messageState(context), let conversation = state.conversation else { return inheritedResult(context) }
        defer { state.update { $0.inMessage = false } }
        let limit = context.deadline - Self.margin
        let values = MilterMacroValues(connection: context.connection, transaction: transaction, hostName: context.services.hostName)
        do {
            let options = conversation.options
            let leadingSpace = options.steps.contains(.headerLeadingSpace)
            for field in transaction.header.fields {
                var value = field.rawValue
                if !leadingSpace, value.hasPrefix(" ") { value.removeFirst() }
                value = value.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
                let response = try await conversation.send(.header(name: field.name, value: value), timeout: settings.commandTimeout, limit: limit)
                if response != .continue { return try decide(context, state, response, scope: .message) }
            }
            let eoh = try await conversation.send(
                .endOfHeaders, macros: values.macros(named: conversation.macroNames(.endOfHeaders)), stage: .endOfHeaders,
                timeout: settings.commandTimeout, limit: limit)
            if eoh != .continue { return try decide(context, state, eoh, scope: .message) }
            if let body = transaction.body, conversation.wants(.body([])) {
                if let verdict = try await sendBody(body, conversation, context, limit: limit), verdict != .skip {
                    return try decide(context, state, verdict, scope: .message)
                }
            }
            let changes = MilterMessageChanges(
                transaction: transaction, services: context.services, logger: context.logger, milter: settings.name, leadingSpace: leadingSpace)
            try await conversation.endOfBody(
                macros: values.macros(named: conversation.macroNames(.endOfMessage)), timeout: settings.contentTimeout, limit: limit)
            var verdict = try await conversation.nextEndOfMessageAnswer(timeout: settings.contentTimeout, limit: limit)
            while verdict.isModification {
                try await changes.apply(verdict)
                verdict = try await conversation.nextEndOfMessageAnswer(timeout: settings.contentTimeout, limit: limit)
            }
            try await changes.finish()
            return try decide(context, state, verdict, scope: .message)
        } catch {
            return fail(context, state, error)
        }
    }

    /// The body after the header block, in chunks of at most 65535 bytes read from the spool one
    /// at a time. Returns the milter's decision when it is not "continue" (SKIP included).
    private func sendBody(_ body: SpooledMessage, _ conversation: MilterConversation, _ context: HookContext, limit: ContinuousClock.Instant) async throws -> MilterResponse? {
        // The spooled body starts with the empty line that ended the header block (unless the
        // header ended at a line that was not a field); the milter gets what follows it.
        let separator = try await context.services.spool.read(body, at: body.bodyOffset, maxCount: 2)
        let start = body.bodyOffset + (separator == [0x0D, 0x0A] ? 2 : 0)
        for try await chunk in context.services.spool.chunks(of: body, from: start, chunkSize: MilterCommand.maxBodyChunk) {
            let response = try await conversation.send(.body(chunk), timeout: settings.contentTimeout, limit: limit)
            if response == .skip && !conversation.options.steps.contains(.skip) { throw MilterProtocolError("milter sent SKIP it did not negotiate") }
            if response != .continue { return response }
        }
        return nil
    }

    // MARK: Decisions

    /// Sends one command and turns the answer into the hook's result.
    private func ask(_ context: HookContext, _ state: MilterSessionState, _ command: MilterCommand, stage: MilterMacroStage?, scope: MilterVerdict.Scope, recipient: String? = nil, sender: ReversePath? = nil) async -> HookResult {
        guard let conversation = state.conversation else { return .declined }
        do {
            var macros: [MilterMacro] = []
            if let stage {
                let values = MilterMacroValues(connection: context.connection, transaction: context.transaction, hostName: context.services.hostName, recipient: recipient, mailSender: sender)
                macros = values.macros(named: conversation.macroNames(stage))
            }
            let response = try await conversation.send(
                command, macros: macros, stage: stage, timeout: settings.commandTimeout, limit: context.deadline - Self.margin)
            return try decide(context, state, response, scope: scope)
        } catch {
            return fail(context, state, error)
        }
    }

    private func decide(_ context: HookContext, _ state: MilterSessionState, _ response: MilterResponse, scope: MilterVerdict.Scope) throws -> HookResult {
        if response == .skip { throw MilterProtocolError("SKIP outside the body") }
        if let refusal = try MilterVerdict.refusal(response) {
            context.logger.info("fail: milter \(settings.name) answered \(response)")
            switch scope {
            case .connection: state.update { $0.connectionRefusal = refusal }
            case .message: state.update { $0.messageDone = true }
            case .recipient: break
            }
            if response == .connectionFailure || response == .shutdown { closeLater(state) }
            return refusal.result(at: context.hook)
        }
        switch response {
        case .accept:
            // Connection level: no more callbacks for this session. Otherwise: this message.
            if scope == .connection { closeLater(state) } else { state.update { $0.messageDone = true } }
        case .discard:
            if scope == .connection {
                context.logger.info("milter \(settings.name) answered discard to a connection-level command; ignored")
            } else {
                state.update {
                    $0.messageDone = true
                    $0.discard = true
                }
                if context.hook == .dataPost { return discarded(context, state) }
            }
        default:
            break
        }
        // A milter never grants anything (relaying): letting the command through is "no opinion".
        return .declined
    }

    /// Discard: the client hears that the message was taken; nothing is queued.
    private func discarded(_ context: HookContext, _ state: MilterSessionState) -> HookResult {
        context.logger.info("pass: milter \(settings.name) discarded the message")
        state.update { $0.discard = false }
        return .done(SMTPReply(250, .ok, "Message accepted for delivery"))
    }

    /// The conversation is not used again; QUIT goes out at disconnect.
    private func closeLater(_ state: MilterSessionState) {
        state.update { fields in
            if let conversation = fields.conversation {
                fields.conversation = nil
                Task { await conversation.quit(limit: ContinuousClock.now + .seconds(1)) }
            }
        }
    }

    /// The milter failed: log, drop the connection, answer per `default_action` from now on.
    private func fail(_ context: HookContext, _ state: MilterSessionState, _ error: any Error) -> HookResult {
        context.logger.warning("milter \(settings.name) (\(settings.endpoint)) failed: \(error); default_action \(settings.defaultAction.rawValue)")
        state.update { fields in
            fields.failed = true
            if let conversation = fields.conversation {
                fields.conversation = nil
                Task { await conversation.close() }
            }
        }
        switch context.hook {
        case .connect, .helo, .ehlo, .unrecognizedCommand:
            return .declined  // refused from MAIL on, so the client hears why at a command that matters
        default:
            return MilterVerdict.failure(settings.defaultAction, at: context.hook)
        }
    }

    /// The state when this milter still takes part in the message.
    private func usable(_ context: HookContext) -> MilterSessionState? {
        guard let state = context.connection[note: note], state.conversation != nil else { return nil }
        let fields = state.snapshot
        return fields.failed || fields.connectionRefusal != nil ? nil : state
    }

    private func messageState(_ context: HookContext) -> MilterSessionState? {
        guard let state = usable(context), !state.snapshot.messageDone else { return nil }
        return state
    }

    /// What a hook answers when this milter no longer takes part: an earlier refusal or failure
    /// still applies, otherwise no opinion.
    private func inheritedResult(_ context: HookContext) -> HookResult {
        guard let state = context.connection[note: note] else { return .declined }
        let fields = state.snapshot
        if let refusal = fields.connectionRefusal { return refusal.result(at: context.hook) }
        if fields.failed { return MilterVerdict.failure(settings.defaultAction, at: context.hook) }
        return .declined
    }
}

extension ESMTPParameter {
    /// `KEYWORD=value` or `KEYWORD`, as MAIL and RCPT carried it.
    fileprivate var written: String { value.map { "\(keyword)=\($0)" } ?? keyword }
}
