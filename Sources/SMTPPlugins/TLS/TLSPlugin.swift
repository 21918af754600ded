#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI

/// `tls [cert] [key] [ca]`: declares the certificate for STARTTLS and implicit-TLS listeners.
///
/// qpsmtpd's plugin did the handshake itself; here the core does it (the codec must throw away
/// plaintext sent after STARTTLS in the same step), so the plugin only names the files. Unlike
/// qpsmtpd, an unreadable certificate stops start-up instead of silently turning TLS off.
/// Files: `tls_ciphers` (OpenSSL cipher string for TLS ≤ 1.2), `tls_protocols` (qpsmtpd syntax;
/// only a ban on TLS 1.2 has an effect: 1.0 and 1.1 are never offered).
struct TLSPlugin: SMTPPlugin {
    let settings: TLSSettings

    init(context: PluginContext) throws {
        let words = context.arguments.words
        let certificate = words.count > 0 ? words[0] : Self.defaultPath("qpsmtpd-server.crt")
        let key = words.count > 1 ? words[1] : Self.defaultPath("qpsmtpd-server.key")
        var ca = words.count > 2 ? words[2] : Self.defaultPath("qpsmtpd-ca.crt")
        for (what, path) in [("certificate", certificate), ("private key", key)] where access(path, R_OK) != 0 {
            throw PluginArgumentError("cannot read TLS \(what) \(path)")
        }
        if words.count <= 2 && access(ca, R_OK) != 0 { ca = "" }  // the default CA file is optional
        if !ca.isEmpty && access(ca, R_OK) != 0 { throw PluginArgumentError("cannot read TLS CA file \(ca)") }
        let protocols = context.config.value("tls_protocols") ?? ""
        settings = TLSSettings(
            certificatePath: certificate, privateKeyPath: key, caPath: ca.isEmpty ? nil : ca,
            ciphers: context.config.value("tls_ciphers"),
            minimumVersion: protocols.contains("!TLSv1_2") ? "1.3" : nil)
    }

    func register(into hooks: inout HookRegistry) {
        hooks.provideTLS(settings)
    }

    /// qpsmtpd looks in `ssl/`, then `config/ssl/`, relative to the working directory.
    private static func defaultPath(_ file: String) -> String {
        let candidates = ["ssl/" + file, "config/ssl/" + file]
        return candidates.first { access($0, R_OK) == 0 } ?? candidates[0]
    }
}
