public import NIOCore
import NIOPosix
public import NIOSSL
import NIOTLS
public import SMTPCore
public import SMTPPluginAPI

/// Frames client bytes into `SMTPInboundPart`s and encodes replies, switching between command and
/// message framing when the session's reply says so. It runs on the event loop; the session runs
/// in a task and talks to it only through the parts it reads and the replies it writes.
public final class SMTPServerCodec: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = SMTPInboundPart
    public typealias OutboundIn = SMTPOutboundPart
    public typealias OutboundOut = ByteBuffer

    private var framer: SMTPFramer
    /// A read was asked for while the framer waited for a decision; issue it once framing resumes.
    private var readPending = false
    /// The client half-closed while frames were still held back; tell the session after them.
    private var inputClosedPending = false
    /// Bytes allowed to pile up while the framer waits for the session's decision.
    private let maxBufferedWhilePaused: Int

    /// The context STARTTLS uses; nil when no certificate is configured.
    private let startTLSContext: NIOSSLContext?

    /// What the client must send next and by when, checked by the one timer below.
    private var deadline: ClientDeadline
    private let timeouts: ClientTimeouts
    private var timer: (at: NIODeadline, task: Scheduled<Void>)?
    private var timedOut = false

    /// Bytes the client sent before the greeting or behind a line awaiting our decision; the
    /// session hands it to plugins as `Connection.outOfTurnInput` (earlytalker).
    public let outOfTurnInput = OutOfTurnInput()
    /// Nothing written yet: any byte now came before the greeting.
    private var greetingPending = true

    public init(limits: SMTPLimits, timeouts: ClientTimeouts? = nil, startTLSContext: NIOSSLContext? = nil) {
        self.startTLSContext = startTLSContext
        framer = SMTPFramer(maxCommandLineLength: limits.maxCommandLineLength, maxDataLineLength: limits.maxDataLineLength)
        maxBufferedWhilePaused = max(limits.maxBufferedWhilePaused, limits.maxCommandLineLength * 4)
        let timeouts = timeouts ?? ClientTimeouts(limits: limits)
        self.timeouts = timeouts
        deadline = ClientDeadline(timeouts: timeouts, now: .now())
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        // The greeting is on its way: the client's time for its first command starts now.
        deadline.expectCommand(now: .now())
        armTimer(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        timedOut = true
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if framer.mode == .data { deadline.messageProgress(octets: bytes.readableBytes, now: .now()) }
        framer.append(bytes)
        deliverFrames(context: context)
        if greetingPending || (framer.mode == .awaitingDecision && framer.bufferedByteCount > 0) {
            outOfTurnInput.noteArrival()
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelRead(wrapInboundOut(.batchEnd))
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let version = (try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).tlsVersion).flatMap { $0 }
            context.fireChannelRead(wrapInboundOut(.tlsEstablished(version: version.map(Self.describe) ?? "TLS")))
            context.fireChannelRead(wrapInboundOut(.batchEnd))
            context.fireChannelReadComplete()
        }
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed, framer.mode == .awaitingDecision {
            // Frames are still waiting behind DATA; passing EOF on now would end the session's
            // stream before they reach it.
            inputClosedPending = true
            return
        }
        if event is SMTPShutdownRequest {
            context.fireChannelRead(wrapInboundOut(.shutdownRequested))
            context.fireChannelRead(wrapInboundOut(.batchEnd))
            context.fireChannelReadComplete()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS errors are worth a line in the log with their reason; the session writes it.
        if error is NIOSSLError || error is BoringSSLError {
            context.fireChannelRead(wrapInboundOut(.tlsFailed(reason: "\(error)")))
        }
        context.fireErrorCaught(error)
    }

    static func describe(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: return "TLSv1"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        }
    }

    /// RFC 3207 in one step on the event loop: the 220 goes out in clear, every byte the client
    /// sent after STARTTLS is thrown away (the command-injection attack), and TLS starts.
    private func startTLS(context: ChannelHandlerContext, reply: ByteBuffer, promise: EventLoopPromise<Void>?) {
        context.writeAndFlush(wrapOutboundOut(reply), promise: promise)
        let discarded = framer.discardBufferedBytes()
        framer.resumeCommands()
        if discarded > 0 {
            context.fireChannelRead(wrapInboundOut(.discardedAfterSTARTTLS(octets: discarded)))
        }
        guard let startTLSContext else {
            context.close(promise: nil)
            return
        }
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: startTLSContext), position: .first)
        } catch {
            context.fireChannelRead(wrapInboundOut(.tlsFailed(reason: "cannot start TLS: \(error)")))
            context.close(promise: nil)
        }
        if readPending {
            readPending = false
            context.read()
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        // A reply hands the turn to the client: its time starts now.
        deadline.serverOwesReply = false
        if greetingPending || part.then != nil {
            greetingPending = false
            outOfTurnInput.turnPassedToClient()
        }
        if part.then == .message { deadline.expectMessage(now: .now()) } else { deadline.expectCommand(now: .now()) }
        armTimer(context: context)
        var buffer = context.channel.allocator.buffer(capacity: 64)
        part.reply.write(to: &buffer)
        switch part.then {
        case nil:
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .close:
            context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
                promise?.succeed()
            }
        case .startTLS:
            startTLS(context: context, reply: buffer, promise: promise)
        case .message, .commands, .saslResponse:
            context.write(wrapOutboundOut(buffer), promise: promise)
            switch part.then {
            case .message: framer.enterDataMode()
            case .saslResponse: framer.expectSASLResponse()
            default: framer.resumeCommands()
            }
            // Frames that were waiting behind the pause go to the session now, as a batch of their own.
            if deliverFrames(context: context) {
                context.fireChannelRead(wrapInboundOut(.batchEnd))
                context.fireChannelReadComplete()
            }
            if inputClosedPending && framer.mode != .awaitingDecision {
                inputClosedPending = false
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
            if readPending {
                readPending = false
                context.read()
            }
        }
    }

    public func read(context: ChannelHandlerContext) {
        // Backpressure while paused: stop reading once enough is buffered, so a client that
        // streams its message before our 354 cannot make us hold it all.
        if framer.mode == .awaitingDecision && framer.bufferedByteCount >= maxBufferedWhilePaused {
            readPending = true
            return
        }
        context.read()
    }

    /// Hands every complete frame to the session; true if any was handed over.
    @discardableResult
    private func deliverFrames(context: ChannelHandlerContext) -> Bool {
        var delivered = false
        while let event = framer.next() {
            delivered = true
            switch event {
            case .commandLine, .commandLineTooLong, .dataEnd:
                // The client finished something; until we answer, the clock is ours (our reply
                // sets the client's next deadline).
                deadline.serverOwesReply = true
            case .dataChunk:
                break
            }
            switch event {
            case .commandLine(let line): context.fireChannelRead(wrapInboundOut(.command(line)))
            case .commandLineTooLong: context.fireChannelRead(wrapInboundOut(.commandLineTooLong))
            case .dataChunk(let chunk): context.fireChannelRead(wrapInboundOut(.dataChunk(chunk)))
            case .dataEnd(let defects): context.fireChannelRead(wrapInboundOut(.dataEnd(defects)))
            }
        }
        return delivered
    }

    // MARK: Deadline timer

    /// Makes sure the timer fires no later than the current deadline. Deadlines mostly move later,
    /// so an earlier timer is kept and, when it fires, looks again (no reschedule per line).
    private func armTimer(context: ChannelHandlerContext) {
        guard !timedOut else { return }
        let at = deadline.serverOwesReply ? .now() + timeouts.current : deadline.expiry
        if let timer, timer.at <= at { return }
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            timerFired(context: context)
        }
        timer = (at, task)
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard !timedOut else { return }
        guard let expired = deadline.expired(at: .now()) else {
            armTimer(context: context)
            return
        }
        timedOut = true
        context.fireChannelRead(wrapInboundOut(.timedOut(expired == .message ? .message : .command)))
        context.fireChannelRead(wrapInboundOut(.batchEnd))
        context.fireChannelReadComplete()
    }
}

