import NIOCore
import NIOTestUtils
import SMTPCore
import Testing

/// What the framer produced, with consecutive data chunks joined: chunk boundaries depend on how the
/// bytes arrived, the message does not.
enum Frame: Hashable, Sendable, CustomStringConvertible {
    case command(String)
    case tooLong
    case data(String)
    case end(SMTPFramer.DataDefects)

    static func end(bareLF: Bool = false, bareCR: Bool = false, overlong: Bool = false) -> Frame {
        var defects = SMTPFramer.DataDefects()
        defects.bareLineFeed = bareLF
        defects.bareCarriageReturn = bareCR
        defects.overlongLine = overlong
        return .end(defects)
    }

    var description: String {
        switch self {
        case .command(let line): "command(\(line.debugDescription))"
        case .tooLong: "tooLong"
        case .data(let text): "data(\(text.debugDescription))"
        case .end(let d): "end(LF: \(d.bareLineFeed), CR: \(d.bareCarriageReturn), long: \(d.overlongLine))"
        }
    }
}

/// Feeds a framer and plays the session: after DATA it says 354 (or refuses), after STARTTLS and BDAT
/// it goes back to commands.
struct FramerDriver {
    var framer: SMTPFramer
    var acceptsData = true
    private(set) var frames: [Frame] = []

    init(maxCommandLineLength: Int, maxDataLineLength: Int) {
        framer = SMTPFramer(maxCommandLineLength: maxCommandLineLength, maxDataLineLength: maxDataLineLength)
    }

    mutating func feed(_ bytes: ArraySlice<UInt8>) {
        framer.append(ByteBuffer(bytes: bytes))
        while true {
            if framer.mode == .awaitingDecision {
                guard case .command(let line) = frames.last else {
                    Issue.record("awaiting a decision without a command line before it")
                    return
                }
                if acceptsData, line.lowercased().hasPrefix("data") {
                    framer.enterDataMode()
                } else {
                    framer.resumeCommands()
                }
            }
            guard let event = framer.next() else { return }
            record(event)
        }
    }

    private mutating func record(_ event: SMTPFramer.Event) {
        switch event {
        case .commandLine(let line):
            frames.append(.command(String(buffer: line)))
        case .commandLineTooLong:
            frames.append(.tooLong)
        case .dataChunk(let chunk):
            #expect(chunk.readableBytes > 0, "empty data chunk")
            if case .data(let previous) = frames.last {
                frames[frames.count - 1] = .data(previous + String(buffer: chunk))
            } else {
                frames.append(.data(String(buffer: chunk)))
            }
        case .dataEnd(let defects):
            frames.append(.end(defects))
        }
    }
}

/// A small deterministic generator, so a failing split can be reproduced from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct FramerVector: Sendable, CustomTestStringConvertible {
    var name: String
    var input: String
    var expected: [Frame]
    var maxCommandLineLength = 16
    var maxDataLineLength = 20
    var acceptsData = true
    /// Bytes the framer must still hold at the end (an undecided terminator, a partial line).
    var leftover = 0

    var testDescription: String { name }
}

let framerVectors: [FramerVector] = [
    // Command lines.
    .init(name: "CRLF line", input: "NOOP\r\n", expected: [.command("NOOP")]),
    .init(name: "bare LF line", input: "NOOP\n", expected: [.command("NOOP")]),
    .init(name: "two lines", input: "HELO x\r\nRSET\n", expected: [.command("HELO x"), .command("RSET")]),
    .init(name: "empty line", input: "\r\n\n", expected: [.command(""), .command("")]),
    .init(name: "only one CR is stripped", input: "NOOP\r\r\n", expected: [.command("NOOP\r")]),
    .init(name: "bare CR is not a line end", input: "NOOP\rRSET\r\n", expected: [.command("NOOP\rRSET")]),
    .init(name: "partial line waits", input: "NOOP\r\nQUI", expected: [.command("NOOP")], leftover: 3),
    .init(name: "line at the limit", input: "12345678901234\r\n", expected: [.command("12345678901234")]),
    .init(name: "bare-LF line at the limit", input: "123456789012345\n", expected: [.command("123456789012345")]),
    .init(name: "one octet over the limit", input: "123456789012345\r\nNOOP\r\n", expected: [.tooLong, .command("NOOP")]),
    .init(
        name: "overlong line resumes at the next line",
        input: String(repeating: "x", count: 100) + "\r\nNOOP\r\n", expected: [.tooLong, .command("NOOP")]
    ),
    .init(
        name: "overlong line ended by bare LF",
        input: String(repeating: "x", count: 40) + "\nNOOP\r\n", expected: [.tooLong, .command("NOOP")]
    ),
    .init(
        name: "two overlong lines",
        input: String(repeating: "x", count: 40) + "\r\n" + String(repeating: "y", count: 17) + "\r\nRSET\r\n",
        expected: [.tooLong, .tooLong, .command("RSET")]
    ),
    .init(
        name: "overlong line without end yet",
        input: "NOOP\r\n" + String(repeating: "x", count: 50), expected: [.command("NOOP"), .tooLong]
    ),
    .init(
        name: "overlong DATA line does not change mode",
        input: "DATA " + String(repeating: "x", count: 30) + "\r\nhello\r\n.\r\n",
        expected: [.tooLong, .command("hello"), .command(".")]
    ),

    // Lines that stop the framer until the session decides.
    .init(
        name: "DATA refused",
        input: "DATA\r\nhello\r\n.\r\n", expected: [.command("DATA"), .command("hello"), .command(".")], acceptsData: false
    ),
    .init(name: "STARTTLS", input: "STARTTLS\r\nEHLO x\r\n", expected: [.command("STARTTLS"), .command("EHLO x")]),
    .init(name: "DATAX is not DATA", input: "DATAX\r\nhello\r\n", expected: [.command("DATAX"), .command("hello")]),

    // DATA.
    .init(
        name: "message then commands",
        input: "DATA\r\nSubject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n",
        expected: [.command("DATA"), .data("Subject: x\r\n\r\nhello\r\n"), .end(), .command("QUIT")]
    ),
    .init(name: "lowercase data", input: "data\r\nx\r\n.\r\n", expected: [.command("data"), .data("x\r\n"), .end()]),
    .init(name: "empty message", input: "DATA\r\n.\r\nQUIT\r\n", expected: [.command("DATA"), .end(), .command("QUIT")]),
    .init(
        name: "dot-unstuffing",
        input: "DATA\r\n..x\r\n.y\r\n...\r\n. \r\nz.\r\n.\r\n",
        expected: [.command("DATA"), .data(".x\r\ny\r\n..\r\n \r\nz.\r\n"), .end()]
    ),
    .init(
        name: "dot-stuffed line is not the terminator",
        input: "DATA\r\n..\r\n.\r\n", expected: [.command("DATA"), .data(".\r\n"), .end()]
    ),
    .init(
        name: "two messages, defects reset",
        input: "DATA\r\na\rb\r\n.\r\nDATA\r\nc\r\n.\r\n",
        expected: [.command("DATA"), .data("a\rb\r\n"), .end(bareCR: true), .command("DATA"), .data("c\r\n"), .end()]
    ),
    .init(
        name: "a dot line after the message is a command",
        input: "DATA\r\nx\r\n.\r\n.\r\n", expected: [.command("DATA"), .data("x\r\n"), .end(), .command(".")]
    ),
    .init(
        name: "message without terminator yet",
        input: "DATA\r\nx\r\n.\r", expected: [.command("DATA"), .data("x\r\n")], leftover: 2
    ),
    .init(
        name: "pipelined DATA after a command",
        input: "RSET\r\nDATA\r\nbody\r\n.\r\nQUIT\r\n",
        expected: [.command("RSET"), .command("DATA"), .data("body\r\n"), .end(), .command("QUIT")]
    ),

    // Smuggling: only <CRLF>.<CRLF> ends a message.
    .init(
        name: "<LF>.<LF>",
        input: "DATA\r\na\n.\nMAIL FROM:<x@y>\r\n.\r\n",
        expected: [.command("DATA"), .data("a\n.\nMAIL FROM:<x@y>\r\n"), .end(bareLF: true)]
    ),
    .init(
        name: "<LF>.<CR><LF>",
        input: "DATA\r\na\n.\r\nRSET\r\n.\r\n",
        expected: [.command("DATA"), .data("a\n.\r\nRSET\r\n"), .end(bareLF: true)]
    ),
    .init(
        name: "<CR>.<CR>",
        input: "DATA\r\na\r.\rRSET\r\n.\r\n",
        expected: [.command("DATA"), .data("a\r.\rRSET\r\n"), .end(bareCR: true)]
    ),
    .init(
        name: "<CR>.<CR><LF>",
        input: "DATA\r\na\r.\r\nRSET\r\n.\r\n",
        expected: [.command("DATA"), .data("a\r.\r\nRSET\r\n"), .end(bareCR: true)]
    ),
    // The dot starts a line, so it is unstuffed; the bare LF after it is still flagged.
    .init(
        name: "<CR><LF>.<LF>",
        input: "DATA\r\na\r\n.\nRSET\r\n.\r\n",
        expected: [.command("DATA"), .data("a\r\n\nRSET\r\n"), .end(bareLF: true)]
    ),
    .init(
        name: "<CR><LF>.<CR> then other bytes",
        input: "DATA\r\na\r\n.\rRSET\r\n.\r\n",
        expected: [.command("DATA"), .data("a\r\n\rRSET\r\n"), .end(bareCR: true)]
    ),
    .init(
        name: "<CR><LF>.<CR><CR><LF>",
        input: "DATA\r\na\r\n.\r\r\n.\r\n",
        expected: [.command("DATA"), .data("a\r\n\r\r\n"), .end(bareCR: true)]
    ),
    .init(
        name: "bare CR inside a line",
        input: "DATA\r\nab\rcd\r\n.\r\n", expected: [.command("DATA"), .data("ab\rcd\r\n"), .end(bareCR: true)]
    ),
    .init(
        name: "bare LF at the end of a line",
        input: "DATA\r\nab\n\r\n.\r\n", expected: [.command("DATA"), .data("ab\n\r\n"), .end(bareLF: true)]
    ),
    .init(
        name: "CR CR LF",
        input: "DATA\r\nend\r\r\n.\r\n", expected: [.command("DATA"), .data("end\r\r\n"), .end(bareCR: true)]
    ),
    .init(
        name: "bare LF after DATA itself",
        input: "DATA\n.\r\n", expected: [.command("DATA"), .end()]
    ),

    // Line length inside DATA (limit 20 here).
    .init(
        name: "data line at the limit",
        input: "DATA\r\n" + String(repeating: "d", count: 20) + "\r\n.\r\n",
        expected: [.command("DATA"), .data(String(repeating: "d", count: 20) + "\r\n"), .end()]
    ),
    .init(
        name: "overlong data line",
        input: "DATA\r\n" + String(repeating: "d", count: 21) + "\r\nshort\r\n.\r\n",
        expected: [.command("DATA"), .data(String(repeating: "d", count: 21) + "\r\nshort\r\n"), .end(overlong: true)]
    ),
    .init(
        name: "long lines in a message are not command lines",
        input: "DATA\r\n" + String(repeating: "e", count: 18) + "\r\n.\r\n",
        expected: [.command("DATA"), .data(String(repeating: "e", count: 18) + "\r\n"), .end()]
    ),
]

/// The splits every vector is fed with: whole, byte by byte, and random cuts.
private func splits(of count: Int, seed: UInt64) -> [[Int]] {
    var generator = SplitMix64(state: seed)
    var result: [[Int]] = [[count], Array(repeating: 1, count: count)]
    for _ in 0..<50 {
        var sizes: [Int] = []
        var remaining = count
        while remaining > 0 {
            let size = Int.random(in: 1...max(1, min(remaining, 9)), using: &generator)
            sizes.append(size)
            remaining -= size
        }
        result.append(sizes)
    }
    return result
}

@Test(arguments: framerVectors)
func framerVector(_ vector: FramerVector) {
    let bytes = Array(vector.input.utf8)
    for sizes in splits(of: bytes.count, seed: vector.name.utf8.reduce(42) { $0 &* 31 &+ UInt64($1) }) {
        var driver = FramerDriver(
            maxCommandLineLength: vector.maxCommandLineLength,
            maxDataLineLength: vector.maxDataLineLength
        )
        driver.acceptsData = vector.acceptsData
        var offset = 0
        for size in sizes {
            driver.feed(bytes[offset..<(offset + size)])
            offset += size
        }
        #expect(driver.frames == vector.expected, "fed in pieces of \(sizes)")
        #expect(driver.framer.bufferedByteCount == vector.leftover, "fed in pieces of \(sizes)")
        if driver.frames != vector.expected { return }
    }
}

/// Random inputs built from the bytes that matter to the framer: however they are cut, the frames
/// and the bytes left over must be the same as when they arrive in one piece.
@Test(arguments: 0..<20)
func framerIgnoresHowBytesArrive(seed: Int) {
    var generator = SplitMix64(state: UInt64(seed) &* 7919)
    let alphabet = Array("..\r\r\n\nab DATA\r\n".utf8)
    for _ in 0..<50 {
        let length = Int.random(in: 0...60, using: &generator)
        let bytes = Array("DATA\r\n".utf8) + (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
        func run(_ sizes: [Int]) -> ([Frame], Int) {
            var driver = FramerDriver(maxCommandLineLength: 8, maxDataLineLength: 6)
            var offset = 0
            for size in sizes {
                driver.feed(bytes[offset..<(offset + size)])
                offset += size
            }
            return (driver.frames, driver.framer.bufferedByteCount)
        }
        let reference = run([bytes.count])
        for sizes in splits(of: bytes.count, seed: generator.next()).dropFirst() {
            let result = run(sizes)
            #expect(result.0 == reference.0, "input \(String(decoding: bytes, as: UTF8.self).debugDescription) in pieces of \(sizes)")
            #expect(result.1 == reference.1, "input \(String(decoding: bytes, as: UTF8.self).debugDescription) in pieces of \(sizes)")
            if result != reference { return }
        }
    }
}

@Test func framerWaitsForTheSessionAfterDATA() {
    var framer = SMTPFramer()
    framer.append(ByteBuffer(string: "DATA\r\nhello\r\n"))
    #expect(framer.next() == .commandLine(ByteBuffer(string: "DATA")))
    #expect(framer.mode == .awaitingDecision)
    #expect(framer.next() == nil)
    framer.append(ByteBuffer(string: ".\r\nQUIT\r\n"))
    #expect(framer.next() == nil)
    #expect(framer.bufferedByteCount == 16)

    framer.enterDataMode()
    #expect(framer.mode == .data)
    #expect(framer.next() == .dataChunk(ByteBuffer(string: "hello\r\n")))
    #expect(framer.next() == .dataEnd(SMTPFramer.DataDefects()))
    #expect(framer.mode == .commands)
    #expect(framer.next() == .commandLine(ByteBuffer(string: "QUIT")))
    #expect(framer.next() == nil)
}

@Test func framerResumesCommandsWhenDATAIsRefused() {
    var framer = SMTPFramer()
    framer.append(ByteBuffer(string: "DATA\r\n.\r\n"))
    #expect(framer.next() == .commandLine(ByteBuffer(string: "DATA")))
    #expect(framer.next() == nil)
    framer.resumeCommands()
    #expect(framer.next() == .commandLine(ByteBuffer(string: ".")))
}

@Test func framerDiscardsPlaintextBehindSTARTTLS() {
    var framer = SMTPFramer()
    framer.append(ByteBuffer(string: "STARTTLS\r\nMAIL FROM:<evil@x>\r\n"))
    #expect(framer.next() == .commandLine(ByteBuffer(string: "STARTTLS")))
    #expect(framer.next() == nil)
    #expect(framer.discardBufferedBytes() == 20)
    framer.resumeCommands()
    #expect(framer.next() == nil)
    framer.append(ByteBuffer(string: "EHLO x\r\n"))
    #expect(framer.next() == .commandLine(ByteBuffer(string: "EHLO x")))
}

@Test func framerEmptyMessageRightAfter354() {
    var framer = SMTPFramer()
    framer.append(ByteBuffer(string: "DATA\r\n"))
    _ = framer.next()
    framer.enterDataMode()
    #expect(framer.next() == nil)
    framer.append(ByteBuffer(string: ".\r\n"))
    #expect(framer.next() == .dataEnd(SMTPFramer.DataDefects()))
}

@Test func framerReportsOverlongCommandLineOnceWhileItGrows() {
    var framer = SMTPFramer(maxCommandLineLength: 8)
    var events: [SMTPFramer.Event] = []
    for _ in 0..<100 {
        framer.append(ByteBuffer(string: "xxxxxxx"))
        while let event = framer.next() { events.append(event) }
    }
    framer.append(ByteBuffer(string: "\r\nNOOP\r\n"))
    while let event = framer.next() { events.append(event) }
    #expect(events == [.commandLineTooLong, .commandLine(ByteBuffer(string: "NOOP"))])
    // The skipped line is not kept while we wait for its end.
    #expect(framer.bufferedByteCount == 0)
}

// MARK: - Under NIO's decoder verifier

/// A test-only decoder around the framer, to run NIO's verifier over command mode.
struct FramerDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPFramer.Event
    var framer = SMTPFramer(maxCommandLineLength: 32)

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        framer.append(buffer.readSlice(length: buffer.readableBytes)!)
        while let event = framer.next() { context.fireChannelRead(wrapInboundOut(event)) }
        return .needMoreData
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

@Test func framerPassesByteToMessageDecoderVerifier() throws {
    func line(_ text: String) -> SMTPFramer.Event { .commandLine(ByteBuffer(string: text)) }
    let pairs: [(String, [SMTPFramer.Event])] = [
        ("EHLO client.example\r\n", [line("EHLO client.example")]),
        ("MAIL FROM:<a@b.example>\n", [line("MAIL FROM:<a@b.example>")]),
        ("RCPT TO:<c@d.example>\r\nNOOP\r\n", [line("RCPT TO:<c@d.example>"), line("NOOP")]),
        ("\r\n", [line("")]),
        ("NOOP\r\r\n", [line("NOOP\r")]),
        (String(repeating: "z", count: 100) + "\r\n", [.commandLineTooLong]),
        (String(repeating: "z", count: 33) + "\nRSET\r\n", [.commandLineTooLong, line("RSET")]),
        ("QUIT\r\n", [line("QUIT")]),
    ]
    try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { FramerDecoder() }
}

@Test func framerReadsASASLAnswerAsAPlainLineEvenWhenItSaysDATA() {
    // AUTH LOGIN → 334; the client's base64 answer happens to be the text "DATA".
    var framer = SMTPFramer()
    framer.append(ByteBuffer(string: "AUTH LOGIN\r\nDATA\r\nc2VjcmV0\r\nNOOP\r\n"))
    #expect(framer.next() == .commandLine(ByteBuffer(string: "AUTH LOGIN")))
    #expect(framer.mode == .awaitingDecision)
    framer.expectSASLResponse()
    #expect(framer.next() == .commandLine(ByteBuffer(string: "DATA")))
    // Not message mode, and not framing on: the session's next reply decides.
    #expect(framer.mode == .awaitingDecision)
    #expect(framer.next() == nil)
    framer.expectSASLResponse()
    #expect(framer.next() == .commandLine(ByteBuffer(string: "c2VjcmV0")))
    framer.resumeCommands()
    #expect(framer.next() == .commandLine(ByteBuffer(string: "NOOP")))
}

@Test func framerStopsAfterAnOverlongSASLAnswer() {
    var framer = SMTPFramer(maxCommandLineLength: 512)
    framer.append(ByteBuffer(string: "AUTH PLAIN\r\n" + String(repeating: "A", count: 600) + "\r\nNOOP\r\n"))
    _ = framer.next()
    framer.expectSASLResponse()
    #expect(framer.next() == .commandLineTooLong)
    #expect(framer.mode == .awaitingDecision)
    framer.resumeCommands()
    #expect(framer.next() == .commandLine(ByteBuffer(string: "NOOP")))
}
