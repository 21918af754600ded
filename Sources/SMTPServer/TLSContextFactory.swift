import NIOSSL
import SMTPPluginAPI

/// Builds the server's TLS context from what the `tls` plugin declared.
public enum TLSContextFactory {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

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
        if let ciphers = settings.ciphers { configuration.cipherSuites = ciphers }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw Failure(description: "TLS settings refused (certificate/key mismatch or bad tls_ciphers?): \(error)")
        }
    }
}
