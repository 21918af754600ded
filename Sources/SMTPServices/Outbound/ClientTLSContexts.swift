import NIOCore
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
        // SocketAddress parses exactly the IPv4 and IPv6 literals inet_pton does.
        if (try? SocketAddress(ipAddress: host, port: 0)) != nil { return nil }
        return host
    }
}
