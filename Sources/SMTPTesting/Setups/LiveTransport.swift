import NIOCore

/// A `TestServer` of its own on 127.0.0.1 and a socket to it.
final class LiveTransport: SMTPTestTransport {
    private let server: TestServer
    private let client: ScriptedSMTPClient

    init(server: TestServer) async throws {
        self.server = server
        client = try await server.connect()
    }

    func write(_ bytes: ByteBuffer) async throws {
        try await client.send(bytes: Array(bytes.readableBytesView))
    }

    func read() async throws -> ByteBuffer? {
        try await client.receive()
    }

    /// Closes the socket, then lets the server finish the session gracefully.
    func close() async {
        await client.close()
        await server.shutDown()
    }

    func abandon() {
        server.stop()
    }
}
