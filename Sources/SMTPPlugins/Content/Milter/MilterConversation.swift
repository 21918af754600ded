import SMTPPluginAPI

/// One SMTP session's connection to one milter: the negotiated options, which callbacks are
/// still wanted, and the packet exchange. The plugin turns what comes back into SMTP answers.
/// Hooks of one session run one after another, so the actor never sees two callers at once;
/// it keeps the compiler and the reader sure of that.
actor MilterConversation {
    let connection: any OutboundConnection
    let options: MilterNegotiation

    init(connection: any OutboundConnection, options: MilterNegotiation) {
        self.connection = connection
        self.options = options
    }

    /// Connects and negotiates. The caller closes nothing on failure: a failed connect leaves
    /// nothing open, a failed negotiation is closed here.
    static func open(_ endpoint: OutboundEndpoint, connector: any OutboundConnector, deadline: ContinuousClock.Instant) async throws -> MilterConversation {
        let connection = try await connector.connect(to: endpoint, deadline: deadline)
        do {
            try await connection.write(MilterCommand.negotiate(.offer).packet.encoded(), deadline: deadline)
            let answer = try await readPacket(connection, deadline: deadline)
            return MilterConversation(connection: connection, options: try MilterNegotiation.accepting(answer))
        } catch {
            await connection.close()
            throw error
        }
    }

    nonisolated func wants(_ command: MilterCommand) -> Bool { options.wants(command) }

    nonisolated func answers(_ command: MilterCommand) -> Bool { options.answers(command) }

    /// The macro names the milter gets at `stage`: what it asked for, else Postfix's defaults.
    nonisolated func macroNames(_ stage: MilterMacroStage) -> [String] {
        options.macroRequests[stage] ?? stage.defaultNames
    }

    /// Sends `command` (after its stage's macros) and returns the milter's decision: `.continue`
    /// for a command it does not want or does not answer. `timeout` restarts at every SMFIR_PROGRESS;
    /// `limit` (the hook's deadline, less a margin) is never passed.
    func send(_ command: MilterCommand, macros: [MilterMacro] = [], stage: MilterMacroStage? = nil, timeout: Duration, limit: ContinuousClock.Instant) async throws -> MilterResponse {
        guard wants(command) else { return .continue }
        var bytes: [UInt8] = []
        if let stage, !macros.isEmpty { bytes = MilterCommand.macros(stage, macros).packet.encoded() }
        bytes += command.packet.encoded()
        let deadline = min(ContinuousClock.now + timeout, limit)
        try await connection.write(bytes, deadline: deadline)
        guard answers(command) else { return .continue }
        return try await decision(timeout: timeout, limit: limit)
    }

    /// Reads until a decision, waiting again after each SMFIR_PROGRESS. Modifications here are
    /// a protocol error (they belong to end of message).
    func decision(timeout: Duration, limit: ContinuousClock.Instant) async throws -> MilterResponse {
        while true {
            let response = try MilterResponse(try await Self.readPacket(connection, deadline: min(ContinuousClock.now + timeout, limit)))
            if response == .progress { continue }
            if response.isModification { throw MilterProtocolError("milter sent a message change before end of message") }
            return response
        }
    }

    /// End of message: SMFIC_BODYEOB (after its macros). The answers follow through
    /// `nextEndOfMessageAnswer`: every change, in order, then the decision.
    func endOfBody(macros: [MilterMacro], timeout: Duration, limit: ContinuousClock.Instant) async throws {
        var bytes: [UInt8] = []
        if !macros.isEmpty { bytes = MilterCommand.macros(.endOfMessage, macros).packet.encoded() }
        bytes += MilterCommand.endOfBody.packet.encoded()
        try await connection.write(bytes, deadline: min(ContinuousClock.now + timeout, limit))
    }

    /// The next change, or the decision, after end of body; a change the milter did not
    /// negotiate is a protocol error.
    func nextEndOfMessageAnswer(timeout: Duration, limit: ContinuousClock.Instant) async throws -> MilterResponse {
        while true {
            let response = try MilterResponse(try await Self.readPacket(connection, deadline: min(ContinuousClock.now + timeout, limit)))
            if response == .progress { continue }
            if response == .skip { throw MilterProtocolError("milter answered end of message with SKIP") }
            if response.isModification { try check(response) }
            return response
        }
    }

    /// A change the milter did not negotiate is refused, as libmilter itself would refuse to send it.
    private func check(_ change: MilterResponse) throws {
        let needed: MilterActions
        switch change {
        case .addHeader: needed = .addHeaders
        case .insertHeader, .changeHeader: needed = .changeHeaders
        case .replaceBody: needed = .changeBody
        case .changeSender: needed = .changeSender
        case .addRecipient(_, let parameters): needed = parameters == nil ? .addRecipients : .addRecipientsWithParameters
        case .deleteRecipient: needed = .deleteRecipients
        case .quarantine: needed = .quarantine
        default: return
        }
        // SMFIR_ADDRCPT_PAR without parameters is allowed with either action.
        if case .addRecipient = change, options.actions.contains(.addRecipientsWithParameters) { return }
        guard options.actions.contains(needed) else { throw MilterProtocolError("milter sent a change (\(change)) it did not negotiate") }
    }

    /// SMFIC_ABORT: the transaction ended early; the milter forgets the message, keeps the connection.
    func abort(limit: ContinuousClock.Instant) async throws {
        try await connection.write(MilterCommand.abort.packet.encoded(), deadline: limit)
    }

    /// SMFIC_QUIT, then the connection is closed.
    func quit(limit: ContinuousClock.Instant) async {
        try? await connection.write(MilterCommand.quit.packet.encoded(), deadline: limit)
        await connection.close()
    }

    func close() async {
        await connection.close()
    }

    static func readPacket(_ connection: any OutboundConnection, deadline: ContinuousClock.Instant) async throws -> MilterPacket {
        var reader = MilterDataReader(try await connection.read(exactly: 4, deadline: deadline))
        let length = Int(try reader.uint32())
        guard length >= 1, length <= MilterPacket.maxLength else { throw MilterProtocolError("packet length \(length) out of range") }
        let bytes = try await connection.read(exactly: length, deadline: deadline)
        return MilterPacket(command: bytes[0], data: Array(bytes[1...]))
    }
}
