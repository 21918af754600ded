import NIOCore
import SMTPCore
import SMTPPluginAPI
import SMTPServer
import Synchronization

/// Stands in for the codec when a session runs with no channel: frames the client's bytes with
/// the production `SMTPFramer`, obeying each reply's `then:` exactly as `SMTPServerCodec` does
/// (stop after DATA/AUTH until the reply decides, message framing after 354), so pipelining and
/// DATA behave as in production; and turns replies into the bytes a client would read.
final class SessionFeed: SMTPReplySink {
    let parts: AsyncStream<SMTPInboundPart>
    let replies: AsyncStream<ByteBuffer>
    private let partsOut: AsyncStream<SMTPInboundPart>.Continuation
    private let repliesOut: AsyncStream<ByteBuffer>.Continuation

    private struct Framing {
        var framer: SMTPFramer
        /// The client closed while frames waited behind a decision; end the input after them.
        var inputClosedPending = false
        /// Nothing sent yet: bytes now came before the greeting.
        var greetingPending = true
    }
    /// As the codec reports it: bytes before the greeting or behind a line awaiting a decision.
    let outOfTurnInput = OutOfTurnInput()
    private let framing: Mutex<Framing>

    init(limits: SMTPLimits) {
        (parts, partsOut) = AsyncStream.makeStream(of: SMTPInboundPart.self)
        (replies, repliesOut) = AsyncStream.makeStream(of: ByteBuffer.self)
        framing = Mutex(Framing(framer: SMTPFramer(maxCommandLineLength: limits.maxCommandLineLength, maxDataLineLength: limits.maxDataLineLength)))
    }

    /// Bytes the client sent, as one read: their frames, then `.batchEnd`.
    func receive(_ bytes: ByteBuffer) {
        framing.withLock { state in
            state.framer.append(bytes)
            deliverFrames(&state)
            if state.greetingPending || (state.framer.mode == .awaitingDecision && state.framer.bufferedByteCount > 0) {
                outOfTurnInput.noteArrival()
            }
            partsOut.yield(.batchEnd)
        }
    }

    /// The client closed its side.
    func clientClosed() {
        framing.withLock { state in
            if state.framer.mode == .awaitingDecision { state.inputClosedPending = true } else { partsOut.finish() }
        }
    }

    /// The session returned: the client reads EOF after the last reply.
    func sessionEnded() {
        repliesOut.finish()
        partsOut.finish()
    }

    func send(_ outbound: [SMTPOutboundPart]) async throws {
        framing.withLock { state in
            for part in outbound {
                var bytes = ByteBuffer()
                part.reply.write(to: &bytes)
                repliesOut.yield(bytes)
                if state.greetingPending || part.then != nil {
                    state.greetingPending = false
                    outOfTurnInput.turnPassedToClient()
                }
                switch part.then {
                case nil:
                    continue
                case .close:
                    repliesOut.finish()
                    partsOut.finish()
                case .startTLS:
                    // No TLS without a channel: the client sees the connection close after the 220.
                    repliesOut.finish()
                    partsOut.finish()
                case .message, .commands, .saslResponse:
                    switch part.then {
                    case .message: state.framer.enterDataMode()
                    case .saslResponse: state.framer.expectSASLResponse()
                    default: state.framer.resumeCommands()
                    }
                    // Frames that waited behind the pause reach the session as a batch of their own.
                    if deliverFrames(&state) { partsOut.yield(.batchEnd) }
                    if state.inputClosedPending && state.framer.mode != .awaitingDecision {
                        state.inputClosedPending = false
                        partsOut.finish()
                    }
                }
            }
        }
    }

    /// Yields every complete frame; true if there was any.
    @discardableResult
    private func deliverFrames(_ state: inout Framing) -> Bool {
        var delivered = false
        while let event = state.framer.next() {
            delivered = true
            switch event {
            case .commandLine(let line): partsOut.yield(.command(line))
            case .commandLineTooLong: partsOut.yield(.commandLineTooLong)
            case .dataChunk(let chunk): partsOut.yield(.dataChunk(chunk))
            case .dataEnd(let defects): partsOut.yield(.dataEnd(defects))
            }
        }
        return delivered
    }
}
