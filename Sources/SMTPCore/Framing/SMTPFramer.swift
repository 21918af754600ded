public import NIOCore

/// Finds frame boundaries in the bytes a client sends: command lines, and the message after `354`.
///
/// It knows nothing of commands beyond the four whose reply decides how the following bytes must
/// be read (DATA, BDAT, STARTTLS, AUTH — `ReadingMode.replyDecidesMode`): after such a line it stops
/// in `.awaitingDecision` until the session says, with its reply, what follows (message bytes, a
/// SASL answer, a handshake, or commands). Without that stop, a client that pipelines its message
/// behind DATA would have the message read as commands when DATA is refused, and plaintext sent
/// behind STARTTLS would be executed after the handshake. A SASL answer is framed as one plain line
/// and never looked at for a verb.
///
/// DATA ends only at `<CRLF>.<CRLF>`. A bare LF or bare CR anywhere is remembered and reported with
/// the end of the message, never taken as a line end for the terminator (the SMTP smuggling attack).
public struct SMTPFramer: Sendable {
    public enum Mode: Sendable, Hashable {
        case commands
        /// A line whose reply decides the reading mode was framed; nothing more is framed until the session decides.
        case awaitingDecision
        case data
        /// One SASL answer (after a 334), then `.awaitingDecision`.
        case saslResponse
    }

    public enum Event: Sendable, Hashable {
        /// A command line without its line end (CRLF, or a bare LF, which commands tolerate).
        case commandLine(ByteBuffer)
        /// A command line longer than the limit; its bytes were thrown away up to the next LF.
        case commandLineTooLong
        /// Dot-unstuffed message bytes, line ends as sent.
        case dataChunk(ByteBuffer)
        /// `<CRLF>.<CRLF>` was read; what went wrong inside the message, if anything.
        case dataEnd(DataDefects)
    }

    /// Things in a message that make us refuse it once its end has been read.
    public struct DataDefects: Sendable, Hashable {
        public var bareLineFeed = false
        public var bareCarriageReturn = false
        public var overlongLine = false
        public init() {}
        public var isEmpty: Bool { !bareLineFeed && !bareCarriageReturn && !overlongLine }
    }

    private enum DataState: Sendable, Hashable {
        case lineStart, midLine, afterCR, dotAtLineStart, dotCR
    }

    public private(set) var mode: Mode = .commands
    public var maxCommandLineLength: Int
    public var maxDataLineLength: Int

    private var buffer = ByteBuffer()
    private var skippingOverlongLine = false
    private var dataState = DataState.lineStart
    private var defects = DataDefects()
    private var dataLineLength = 0

    public init(maxCommandLineLength: Int = SMTPLimits.defaults.maxCommandLineLength, maxDataLineLength: Int = SMTPLimits.defaults.maxDataLineLength) {
        self.maxCommandLineLength = maxCommandLineLength
        self.maxDataLineLength = maxDataLineLength
    }

    /// Bytes received but not yet framed.
    public var bufferedByteCount: Int { buffer.readableBytes }

    public mutating func append(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        }
    }

    /// The session's reply to DATA was 354: frame message bytes from here.
    public mutating func enterDataMode() {
        mode = .data
        dataState = .lineStart
        defects = DataDefects()
        dataLineLength = 0
    }

    /// The session refused DATA (or finished a STARTTLS/BDAT/AUTH step): frame commands again.
    public mutating func resumeCommands() {
        mode = .commands
    }

    /// The session sent a 334 prompt: the next line is a SASL answer, whatever it says.
    public mutating func expectSASLResponse() {
        mode = .saslResponse
    }

    /// Throws away everything buffered: used after STARTTLS, where plaintext behind the command must not run.
    public mutating func discardBufferedBytes() -> Int {
        let count = buffer.readableBytes
        buffer.clear()
        return count
    }

    /// The next frame, or nil when more bytes are needed (or a decision is awaited).
    public mutating func next() -> Event? {
        let event: Event?
        switch mode {
        case .awaitingDecision:
            return nil
        case .commands, .saslResponse:
            event = nextCommandLine()
        case .data:
            event = nextDataEvent()
        }
        if event == nil && buffer.readableBytes == 0 && buffer.capacity > 0 {
            // Let go of the last read's storage: an idle session should hold no receive buffer.
            buffer = ByteBuffer()
        }
        return event
    }

    // MARK: Commands

    private mutating func nextCommandLine() -> Event? {
        guard buffer.readableBytes > 0 else { return nil }
        let view = buffer.readableBytesView
        if skippingOverlongLine {
            // Throw away the rest of an overlong line, but not the lines behind it.
            guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
                buffer.moveReaderIndex(forwardBy: view.count)
                return nil
            }
            buffer.moveReaderIndex(forwardBy: lf - view.startIndex + 1)
            skippingOverlongLine = false
            return nextCommandLine()
        }
        // Only look as far as a legal line can reach, so an endless line costs nothing to scan twice.
        let searchEnd = view.index(view.startIndex, offsetBy: min(view.count, maxCommandLineLength))
        guard let lf = view[view.startIndex..<searchEnd].firstIndex(of: UInt8(ascii: "\n")) else {
            guard view.count >= maxCommandLineLength else { return nil }
            buffer.moveReaderIndex(forwardBy: maxCommandLineLength)
            skippingOverlongLine = true
            if mode == .saslResponse { mode = .awaitingDecision }
            return .commandLineTooLong
        }
        var line = buffer.readSlice(length: lf - view.startIndex)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        if mode == .saslResponse || ReadingMode.replyDecidesMode(forLine: line.readableBytesView) { mode = .awaitingDecision }
        return .commandLine(line)
    }

    // MARK: DATA

    private mutating func nextDataEvent() -> Event? {
        guard buffer.readableBytes > 0 else { return nil }
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
        let start = buffer.readerIndex
        let end = buffer.writerIndex
        // Bytes [sliceStart, i) are message bytes not yet handed out.
        var sliceStart = start
        var i = start
        var state = dataState
        var lineLength = dataLineLength
        var defects = self.defects
        var result: Event? = nil
        // Where to rewind to when the buffer ends in the middle of a possible terminator.
        var undecidedFrom: Int? = nil

        buffer.withUnsafeReadableBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) - start
            scan: while i < end {
                let byte = base[i]
                switch state {
                case .lineStart:
                    lineLength = 0
                    if byte == dot {
                        if i > sliceStart { break scan }  // hand out what precedes the dot first
                        state = .dotAtLineStart
                        undecidedFrom = i
                        i += 1
                        continue scan
                    }
                    state = .midLine
                    continue scan  // re-examine the byte as part of a line
                case .dotAtLineStart:
                    if byte == cr {
                        state = .dotCR
                        i += 1
                        continue scan
                    }
                    // A stuffed line: the leading dot is dropped (RFC 5321 §4.5.2), the rest is data.
                    sliceStart = i
                    undecidedFrom = nil
                    state = .midLine
                    continue scan
                case .dotCR:
                    if byte == lf {
                        // <CRLF>.<CRLF>: the terminator is not part of the message.
                        i += 1
                        sliceStart = i
                        undecidedFrom = nil
                        result = .dataEnd(defects)
                        break scan
                    }
                    // "." CR x: the dot is dropped and the CR was a bare one.
                    sliceStart = i - 1
                    undecidedFrom = nil
                    state = .afterCR
                    continue scan
                case .midLine:
                    if byte == cr {
                        state = .afterCR
                    } else if byte == lf {
                        defects.bareLineFeed = true
                        lineLength = 0
                    } else {
                        lineLength += 1
                        if lineLength > maxDataLineLength { defects.overlongLine = true }
                    }
                    i += 1
                case .afterCR:
                    if byte == lf {
                        state = .lineStart
                        i += 1
                    } else {
                        defects.bareCarriageReturn = true
                        state = .midLine
                        if byte == cr { state = .afterCR; i += 1 }
                    }
                }
            }
        }

        if case .dataEnd = result {
            // The slice before the terminator was handed out on an earlier call (the scan stops at a
            // line-start dot while bytes are pending), so nothing is pending here.
            buffer.moveReaderIndex(to: i)
            mode = .commands
            dataState = .lineStart
            self.defects = DataDefects()
            return result
        }
        let sliceEnd = undecidedFrom ?? i
        if let undecidedFrom {
            // Keep the dot (and CR) in the buffer and look at them again when more bytes come.
            state = .lineStart
            i = undecidedFrom
        }
        dataState = state
        dataLineLength = lineLength
        self.defects = defects
        if sliceEnd > sliceStart {
            let chunk = buffer.getSlice(at: sliceStart, length: sliceEnd - sliceStart)!
            buffer.moveReaderIndex(to: i)
            return .dataChunk(chunk)
        }
        buffer.moveReaderIndex(to: i)
        return nil
    }
}
