public import NIOSSL
public import SMTPPluginAPI

/// Builds the server's TLS context from what the `tls` plugin declared.
public enum TLSContextFactory {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// TLS 1.2 suites offered unless `tls_ciphers` says otherwise: ECDHE key exchange (forward
    /// secrecy) with AEAD ciphers only, as Mozilla's "intermediate" profile. swift-nio-ssl's own
    /// default also offers static-RSA key exchange and CBC-SHA1 suites, which testssl.sh flags.
    /// Server cipher preference cannot be set through swift-nio-ssl's public API; with only these
    /// suites on offer, whatever the client prefers is forward-secret and authenticated.
    /// TLS 1.3 suites are fixed by BoringSSL and all AEAD.
    public static let defaultTLS12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// TLS 1.2 is the floor (RFC 8996 retired 1.0 and 1.1); `tls_protocols` may raise it to 1.3.
    public static func make(_ settings: TLSSettings) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(settings.certificatePath)
        } catch {
            throw Failure(description: "cannot read certificate \(settings.certificatePath): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: settings.privateKeyPath, format: .pem)
        } catch {
            throw Failure(description: "cannot read private key \(settings.privateKeyPath): \(error)")
        }
        var extra: [NIOSSLCertificate] = []
        if let ca = settings.caPath {
            do { extra = try NIOSSLCertificate.fromPEMFile(ca) } catch {
                throw Failure(description: "cannot read CA file \(ca): \(error)")
            }
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: (chain + extra).map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = settings.minimumVersion == "1.3" ? .tlsv13 : .tlsv12
        configuration.cipherSuites = settings.ciphers ?? defaultTLS12Ciphers
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw Failure(description: "TLS settings refused (certificate/key mismatch or bad tls_ciphers?): \(error)")
        }
    }
}
