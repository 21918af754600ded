#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Testing

@Suite struct OutboundConnectorTests {
    let connector = NIOOutboundConnector()

    func deadline(_ duration: Duration = .seconds(5)) -> ContinuousClock.Instant { .now.advanced(by: duration) }

    @Test func linesBytesAndAvailable() async throws {
        let server = try await LoopbackServer.start()
        let connection = try await connector.connect(to: .tcp(host: "127.0.0.1", port: server.port), deadline: deadline())
        try await connection.write("one\r\ntwo\nthree")
        #expect(try await connection.readLine() == "one")
        #expect(try await connection.readLine() == "two")
        #expect(try await connection.read(exactly: 3) == Array("thr".utf8))
        #expect(try await connection.readAvailable() == Array("ee".utf8))
        try await connection.write(Array(repeating: UInt8(ascii: "x"), count: 100) + [10])
        await #expect(throws: OutboundError.lineTooLong(50)) { try await connection.readLine(maxLength: 50) }
        await connection.close()
        #expect(await server.waitForClosed(1))
        await server.stop()
    }

    @Test func unixSocket() async throws {
        let dir = TemporaryDirectory.make(prefix: "connector")
        let server = try await LoopbackServer.start(unixPath: dir + "/echo.sock")
        let connection = try await connector.connect(to: .unix(path: dir + "/echo.sock"), deadline: deadline())
        try await connection.write("over unix\r\n")
        #expect(try await connection.readLine() == "over unix")
        await connection.close()
        await server.stop()
    }

    @Test func refusedConnectionSaysSo() async throws {
        // A port bound but not listening, held for the whole test: nobody else can take it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        // A sockaddr_in as raw bytes (family in host order, port 0, 127.0.0.1): which C module
        // owns sockaddr_in's fields depends on what the test's imports load first.
        var address: [UInt8] = [0, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        withUnsafeBytes(of: sa_family_t(AF_INET)) { address.replaceSubrange(0..<2, with: $0) }
        var length = socklen_t(address.count)
        let bound = address.withUnsafeMutableBytes { raw in
            let pointer = raw.baseAddress!.assumingMemoryBound(to: sockaddr.self)
            return bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
        try #require(bound)
        let port = Int(address[2]) << 8 | Int(address[3])
        await #expect {
            try await connector.connect(to: .tcp(host: "127.0.0.1", port: port), deadline: deadline())
        } throws: { error in
            // In words, as a reply or log line shows it, not NIO's nested error values.
            if case OutboundError.cannotConnect(let why) = error { return why == "Connection refused" }
            return false
        }
    }

    @Test func connectionDeadlineBoundsEveryCall() async throws {
        let server = try await LoopbackServer.start()
        // 1.5 s: long enough for a connect on a loaded machine running the whole suite.
        let connection = try await connector.connect(to: .tcp(host: "127.0.0.1", port: server.port), deadline: deadline(.milliseconds(1500)))
        try await connection.write("quiet\r\n")
        let start = ContinuousClock.now
        await #expect(throws: OutboundError.timedOut) { try await connection.readLine() }
        #expect(ContinuousClock.now - start < .seconds(4))
        // The connection is closed at the deadline: the server sees it go.
        #expect(await server.waitForClosed(1))
        await #expect(throws: OutboundError.timedOut) { try await connection.write("late\r\n") }
        await server.stop()
    }

    @Test func callDeadlineIsShorter() async throws {
        let server = try await LoopbackServer.start()
        let connection = try await connector.connect(to: .tcp(host: "127.0.0.1", port: server.port), deadline: deadline())
        try await connection.write("quiet\r\n")
        let start = ContinuousClock.now
        await #expect(throws: OutboundError.timedOut) { try await connection.readLine(deadline: .now.advanced(by: .milliseconds(200))) }
        #expect(ContinuousClock.now - start < .seconds(2))
        await server.stop()
    }

    @Test func cancellationClosesTheSocket() async throws {
        let server = try await LoopbackServer.start()
        let connection = try await connector.connect(to: .tcp(host: "127.0.0.1", port: server.port), deadline: deadline(.seconds(30)))
        try await connection.write("quiet\r\n")
        let reader = Task { try await connection.readLine() }
        try await Task.sleep(for: .milliseconds(100))
        reader.cancel()
        await #expect(throws: CancellationError.self) { try await reader.value }
        #expect(await server.waitForClosed(1))
        await server.stop()
    }

    @Test func peerClosingEndsReads() async throws {
        let server = try await LoopbackServer.start()
        let connection = try await connector.connect(to: .tcp(host: "127.0.0.1", port: server.port), deadline: deadline())
        try await connection.write("partial")
        #expect(try await connection.read(exactly: 7) == Array("partial".utf8))
        await server.stop()
        try await connection.write("x")
        _ = try? await connection.readAvailable()
        await connection.close()
        await #expect(throws: OutboundError.closed) { try await connection.readLine() }
    }

    @Test func streamsASpooledMessage() async throws {
        let server = try await LoopbackServer.start()
        let connection = try await connector.connect(to: .tcp(host: "127.0.0.1", port: server.port), deadline: deadline())
        let text = "Subject: hi\r\nFrom: a@example.com\r\n\r\n" + String(repeating: "body line\r\n", count: 2000)
        let message = SpooledMessage(spoolDirectory: TemporaryDirectory.make(prefix: "spool"), memoryThreshold: 1024)
        try message.append(Array(text.utf8))
        message.bodyOffset = 34
        var header = MessageHeader()
        header.append("X-Added", "yes")
        header.append("Subject", "hi")
        header.append("From", "a@example.com")
        try await connection.write(message: message, header: header, reader: BlockingSpoolReader(blocking: InlineBlockingWorkRunner()))
        let expected = "X-Added: yes\r\n" + text
        #expect(try await connection.read(exactly: expected.utf8.count) == Array(expected.utf8))
        await connection.close()
        await server.stop()
    }
}
