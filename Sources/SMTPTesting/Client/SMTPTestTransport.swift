import NIOCore

/// How an `SMTPTestClient` reaches the server: raw bytes in, raw bytes out, as a socket would
/// carry them, so the client is the same over every setup.
protocol SMTPTestTransport: AnyObject {
    /// Bytes from the client, as one read on the server would deliver them.
    func write(_ bytes: ByteBuffer) async throws
    /// The next bytes the server wrote; nil once it closed the connection.
    func read() async throws -> ByteBuffer?
    /// Closes the client's side and waits for the session to end (its disconnect hooks included).
    func close() async

    /// For a client dropped without `close()`: ends the session without waiting, so no task or
    /// listener outlives the test.
    func abandon()
}
