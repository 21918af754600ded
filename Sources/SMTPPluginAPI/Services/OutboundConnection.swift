/// One open connection. Every call ends by its deadline (the call's own, else the connection's)
/// or throws `OutboundError.timedOut`; cancelling the calling task closes the connection and
/// throws `CancellationError`. After a timeout the connection is closed: a half-read protocol
/// exchange cannot be resumed. Use it from one task at a time.
public protocol OutboundConnection: AnyObject, Sendable {
    /// One line without its ending (CRLF or a bare LF). Throws `lineTooLong` past `maxLength` bytes.
    func readLineBytes(maxLength: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8]
    func read(exactly count: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8]
    /// Whatever has arrived, waiting for at least one byte; empty at the end of the stream.
    func readAvailable(deadline: ContinuousClock.Instant?) async throws -> [UInt8]
    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant?) async throws
    /// Starts TLS on the open connection (after the protocol's STARTTLS exchange) and waits for the handshake.
    func startTLS(_ tls: OutboundTLS, deadline: ContinuousClock.Instant?) async throws
    func close() async
}

extension OutboundConnection {
    /// One line as text (invalid UTF-8 replaced), without its ending.
    public func readLine(maxLength: Int = 8192, deadline: ContinuousClock.Instant? = nil) async throws -> String {
        String(decoding: try await readLineBytes(maxLength: maxLength, deadline: deadline), as: UTF8.self)
    }

    public func read(exactly count: Int) async throws -> [UInt8] {
        try await read(exactly: count, deadline: nil)
    }

    public func readAvailable() async throws -> [UInt8] {
        try await readAvailable(deadline: nil)
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await write(bytes, deadline: nil)
    }

    public func write(_ string: String, deadline: ContinuousClock.Instant? = nil) async throws {
        try await write(Array(string.utf8), deadline: deadline)
    }

    public func startTLS(serverName: String?, verification: OutboundTLS.Verification = .systemRoots, deadline: ContinuousClock.Instant? = nil) async throws {
        try await startTLS(OutboundTLS(serverName: serverName, verification: verification), deadline: deadline)
    }
}
