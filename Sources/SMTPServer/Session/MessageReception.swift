import Logging
import NIOCore
import SMTPCore
import SMTPPluginAPI

/// DATA: the 354, the message into the spool, the checks after its end, and the queue's answer.
extension SMTPSession {
    /// DATA, once the machine has checked there is a sender and a recipient.
    func data<Inbound: AsyncIteratorProtocol>(inbound: inout Inbound) async throws where Inbound.Element == SMTPInboundPart {
        guard let txn = transaction else { return }
        let response = CommandResponses.data(await hooks.run(.data, call()))
        guard response.reply.code == 354 else {
            respond(response)
            if !response.reply.isPositive { await resetTransaction() }
            return
        }
        machine.apply(.messageStarted)
        respond(response)
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
        // Whatever we answer now, the framer reads commands again after `<CRLF>.<CRLF>`.
        machine.apply(.messageFinished)

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
}
