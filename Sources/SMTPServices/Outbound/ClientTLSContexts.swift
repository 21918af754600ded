#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOSSL
import SMTPPluginAPI
import Synchronization

/// NIOSSL contexts for client connections, one per kind of verification: building one loads the
/// system trust store, which is too slow to repeat for every login.
final class ClientTLSContexts: Sendable {
    private let cache = Mutex<[OutboundTLS.Verification: NIOSSLContext]>([:])

    func context(for tls: OutboundTLS) throws -> NIOSSLContext {
        try cache.withLock { cache in
            if let context = cache[tls.verification] { return context }
            var configuration = TLSConfiguration.makeClientConfiguration()
            switch tls.verification {
            case .systemRoots: break
            case .caFile(let path): configuration.trustRoots = .file(path)
            case .none: configuration.certificateVerification = .none
            }
            do {
                let context = try NIOSSLContext(configuration: configuration)
                cache[tls.verification] = context
                return context
            } catch {
                throw OutboundError.tls("cannot set up TLS: \(error)")
            }
        }
    }

    /// The name to send in SNI and check the certificate against: the given one, else the host
    /// unless it is an IP address (SNI carries names only, RFC 6066 §3).
    static func serverName(_ tls: OutboundTLS, host: String?) -> String? {
        if let name = tls.serverName { return name }
        guard let host else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return nil }
        return host
    }
}
