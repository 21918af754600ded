import NIOSSL
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Testing

/// TLS from the start and after STARTTLS, against a NIO server with a certificate made here by
/// openssl (run through the program runner).
@Suite struct OutboundTLSTests {
    let connector = NIOOutboundConnector()

    /// A self-signed certificate for `localhost`: (certificate path, server context).
    static func certificate() async throws -> (String, NIOSSLContext) {
        let dir = TemporaryDirectory.make(prefix: "tls")
        let result = try await SpawnProgramRunner().run(
            ProgramInvocation(
                "/usr/bin/openssl",
                arguments: [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
                ], captureError: true),
            deadline: .now.advanced(by: .seconds(30)))
        try #require(result.termination == .exited(0), "openssl: \(String(decoding: result.error ?? [], as: UTF8.self))")
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(dir + "/cert.pem").map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: dir + "/key.pem", format: .pem)))
        return (dir + "/cert.pem", try NIOSSLContext(configuration: configuration))
    }

    @Test func startTLSWithACAFile() async throws {
        let (certificate, context) = try await Self.certificate()
        let server = try await LoopbackServer.start(tls: context)
        let connection = try await connector.connect(to: .tcp(host: "localhost", port: server.port), deadline: .now.advanced(by: .seconds(10)))
        try await connection.write("STARTTLS\r\n")
        #expect(try await connection.readLine() == "220 go")
        try await connection.startTLS(serverName: "localhost", verification: .caFile(certificate))
        try await connection.write("secret line\r\n")
        #expect(try await connection.readLine() == "secret line")
        await connection.close()
        await server.stop()
    }

    @Test func implicitTLSWithoutVerification() async throws {
        let (_, context) = try await Self.certificate()
        let server = try await LoopbackServer.start(tls: context, implicitTLS: true)
        let connection = try await connector.connect(
            to: .tcp(host: "127.0.0.1", port: server.port), tls: OutboundTLS(verification: .none), deadline: .now.advanced(by: .seconds(10)))
        try await connection.write("hello\r\n")
        #expect(try await connection.readLine() == "hello")
        await connection.close()
        await server.stop()
    }

    @Test func untrustedCertificateIsRefused() async throws {
        let (_, context) = try await Self.certificate()
        let server = try await LoopbackServer.start(tls: context, implicitTLS: true)
        await #expect {
            try await connector.connect(
                to: .tcp(host: "localhost", port: server.port), tls: OutboundTLS(), deadline: .now.advanced(by: .seconds(10)))
        } throws: { error in
            if case OutboundError.tls = error { return true }
            return false
        }
        await server.stop()
    }
}
