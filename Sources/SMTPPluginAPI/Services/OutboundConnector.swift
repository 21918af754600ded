/// Where an outbound connection goes.
public enum OutboundEndpoint: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): return "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

/// How a client-side TLS session checks the server.
public struct OutboundTLS: Sendable, Hashable {
    public enum Verification: Sendable, Hashable {
        /// The system's trust roots, and the certificate must name `serverName`.
        case systemRoots
        /// Only certificates from the CA certificate(s) in this PEM file, and the name must match.
        case caFile(String)
        /// No check at all: for a server on this machine with a self-signed certificate.
        case none
    }

    /// For SNI and the name check; nil uses the endpoint's host.
    public var serverName: String?
    public var verification: Verification

    public init(serverName: String? = nil, verification: Verification = .systemRoots) {
        self.serverName = serverName
        self.verification = verification
    }
}

/// Why an outbound connection failed.
public enum OutboundError: Error, Sendable, Hashable, CustomStringConvertible {
    case cannotConnect(String)
    case timedOut
    /// The peer closed the connection (or it was closed here) before the read was satisfied.
    case closed
    case lineTooLong(Int)
    /// The peer sent more than this many bytes nobody read: broken or hostile, so it was cut off.
    case tooMuchUnread(Int)
    case tls(String)
    case notConfigured

    public var description: String {
        switch self {
        case .cannotConnect(let why): return "cannot connect: \(why)"
        case .timedOut: return "timed out"
        case .closed: return "connection closed"
        case .lineTooLong(let limit): return "line longer than \(limit) bytes"
        case .tooMuchUnread(let limit): return "peer sent more than \(limit) bytes unread"
        case .tls(let why): return "TLS: \(why)"
        case .notConfigured: return "no outbound connector is configured for plugins"
        }
    }

    /// What went wrong without "cannot connect: " (`Connection refused`, `timed out`), for callers
    /// that say themselves what they were connecting to.
    public var reason: String {
        if case .cannotConnect(let why) = self { return why }
        return description
    }
}

/// Opens client connections for plugins (IMAP and SMTP servers, spamd, clamd, policy daemons).
public protocol OutboundConnector: Sendable {
    /// Connects to `endpoint`, with TLS from the start when `tls` is given. `deadline` bounds the
    /// connect and, unless a call gives its own, every later call on the connection.
    func connect(to endpoint: OutboundEndpoint, tls: OutboundTLS?, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection
}

extension OutboundConnector {
    public func connect(to endpoint: OutboundEndpoint, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection {
        try await connect(to: endpoint, tls: nil, deadline: deadline)
    }
}

/// The default when the engine has no connector: says so instead of failing obscurely.
public struct UnconfiguredOutboundConnector: OutboundConnector {
    public init() {}
    public func connect(to endpoint: OutboundEndpoint, tls: OutboundTLS?, deadline: ContinuousClock.Instant) async throws -> any OutboundConnection {
        throw OutboundError.notConfigured
    }
}
