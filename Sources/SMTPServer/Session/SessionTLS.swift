import SMTPCore
import SMTPPluginAPI

/// STARTTLS (RFC 3207).
extension SMTPSession {
    /// The machine checked the argument and that TLS is not active yet.
    func startTLS() async {
        machine.apply(.tlsStarting)
        respond(Response(220, .ok, "Ready to start TLS"))
        // RFC 3207 §4.2: nothing learnt from the client before TLS survives it. qpsmtpd keeps AUTH
        // and relay state here; we go back to what the connection itself earned at connect.
        await resetTransaction()
        connection.forgetGreeting()
        connection.authUser = nil
        connection.authMechanism = nil
        connection.isRelayClient = relayAfterConnect
    }
}
