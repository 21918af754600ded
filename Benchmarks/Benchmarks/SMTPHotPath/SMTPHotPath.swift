import Benchmark
import NIOCore
import SMTPCore

// Each benchmark iteration is one operation (one command, one reply, one message, one batch of
// 100 lines), so the malloc counts in the output are allocations per operation.

private func configuration() -> Benchmark.Configuration {
    .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], maxDuration: .seconds(2), maxIterations: 200_000)
}

/// A 4 KB message as smtp-source sends it, dot-terminated.
private func message4K() -> ByteBuffer {
    var text = "From: <bench@test.example>\r\nTo: <rcpt@test.example>\r\nSubject: benchmark\r\n\r\n"
    while text.utf8.count < 4096 { text += "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01234567890\r\n" }
    text += ".\r\n"
    return ByteBuffer(string: text)
}

/// 100 command lines a pipelining client could send in one write (no DATA among them).
private func pipelined100() -> ByteBuffer {
    let cycle = ["MAIL FROM:<sender@example.org> SIZE=4096", "RCPT TO:<rcpt@test.example>", "RSET", "NOOP"]
    var text = ""
    for i in 0..<100 { text += cycle[i % cycle.count] + "\r\n" }
    return ByteBuffer(string: text)
}

let benchmarks: @Sendable () -> Void = {
    hookCallBenchmarks()
    policyChainBenchmarks()
    let config = configuration()
    // What the framework itself counts per iteration; subtract it from the rows below.
    Benchmark("baseline (empty iteration)", configuration: config) { benchmark in
        for i in benchmark.scaledIterations { blackHole(i) }
    }

    let mailLine = "MAIL FROM:<sender.name@example.org> SIZE=4096 BODY=8BITMIME"
    let mailBytes = ByteBuffer(string: mailLine)

    Benchmark("parse MAIL line (String)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            let line = SMTPCommandLine(parsing: mailLine)
            blackHole(line.knownCommand)
            let argument = try PathParser.splitMailArgument(line.argument)
            blackHole(try PathParser.parseReversePath(argument.path ?? "<>"))
        }
    }

    Benchmark("parse MAIL line (ByteBuffer → String → path)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            let line = SMTPCommandLine(parsing: String(buffer: mailBytes))
            blackHole(line.knownCommand)
            let argument = try PathParser.splitMailArgument(line.argument)
            blackHole(try PathParser.parseReversePath(argument.path ?? "<>"))
        }
    }

    let okReply = SMTPReply(250, .senderOK, "<sender.name@example.org>, sender OK - how exciting to get mail from you!")
    let ehloReply = SMTPReply(
        code: 250,
        lines: ["bench.test.example Hi client [127.0.0.1]", "PIPELINING", "8BITMIME", "SIZE 0", "ENHANCEDSTATUSCODES"])

    Benchmark("encode 250 reply (one line, enhanced code)", configuration: config) { benchmark in
        var replyBuffer = ByteBufferAllocator().buffer(capacity: 1024)
        for _ in benchmark.scaledIterations {
            replyBuffer.clear()
            okReply.write(to: &replyBuffer)
            blackHole(replyBuffer.readableBytes)
        }
    }

    Benchmark("encode EHLO reply (5 lines)", configuration: config) { benchmark in
        var replyBuffer = ByteBufferAllocator().buffer(capacity: 1024)
        for _ in benchmark.scaledIterations {
            replyBuffer.clear()
            ehloReply.write(to: &replyBuffer)
            blackHole(replyBuffer.readableBytes)
        }
    }

    let message = message4K()
    Benchmark("frame 4 KB message in DATA mode", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            var framer = SMTPFramer()
            framer.enterDataMode()
            framer.append(message)
            var bytes = 0
            loop: while let event = framer.next() {
                switch event {
                case .dataChunk(let chunk): bytes += chunk.readableBytes
                case .dataEnd: break loop
                default: break
                }
            }
            blackHole(bytes)
        }
    }

    let commands = pipelined100()
    Benchmark("frame 100 pipelined command lines", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            var framer = SMTPFramer()
            framer.append(commands)
            var lines = 0
            while case .commandLine = framer.next() { lines += 1 }
            blackHole(lines)
        }
    }

    Benchmark("frame + parse 100 pipelined command lines", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            var framer = SMTPFramer()
            framer.append(commands)
            var known = 0
            while case .commandLine(let bytes) = framer.next() {
                if SMTPCommandLine(parsing: String(buffer: bytes)).knownCommand != nil { known += 1 }
            }
            blackHole(known)
        }
    }
}
