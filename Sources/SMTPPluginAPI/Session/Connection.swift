import SMTPCore
import Synchronization

/// One client connection, as plugins see it. The session task owns it; hooks read it and may set
/// what is theirs to decide (relay permission, notes, the remote host name). The protocol facts —
/// HELO name, TLS, AUTH user — are the engine's: only code of this package sets them, so a plugin
/// cannot make a session look encrypted or authenticated.
/// State sits behind a lock because a hook that overran its timeout may still hold a reference.
public final class Connection: Sendable {
    /// Short id that every log line of this connection carries.
    public let id: String
    public let remoteIP: String
    public let remotePort: Int
    public let localIP: String
    public let localPort: Int

    public typealias Greeting = SMTPHello

    struct State: Sendable {
        var remoteHost: String?
        var remoteInfo: String?
        var hello: Greeting?
        var helloHost: String?
        var relayClient = false
        var tlsCipher: String?
        var authUser: String?
        var authMechanism: String?
        var notes = Notes()
        var extraCapabilities: [String] = []
        var outOfTurnInput = OutOfTurnInput()
        var addressConcurrency: AddressConcurrency?
    }

    private let state: Mutex<State>

    public init(id: String, remoteIP: String, remotePort: Int, localIP: String, localPort: Int, remoteHost: String? = nil, remoteInfo: String? = nil) {
        self.id = id
        self.remoteIP = remoteIP
        self.remotePort = remotePort
        self.localIP = localIP
        self.localPort = localPort
        self.state = Mutex(State(remoteHost: remoteHost, remoteInfo: remoteInfo))
    }

    /// The client's name from reverse DNS or `TCPREMOTEHOST`, if known.
    public var remoteHost: String? {
        get { state.withLock { $0.remoteHost } }
        set { state.withLock { $0.remoteHost = newValue } }
    }

    /// How the Received header names the client: `TCPREMOTEINFO@host`, the host, or `[ip]`.
    public var remoteInfo: String {
        get { state.withLock { $0.remoteInfo ?? $0.remoteHost ?? "[\(remoteIP)]" } }
        set { state.withLock { $0.remoteInfo = newValue } }
    }

    /// HELO or EHLO, once a greeting has succeeded.
    public package(set) var hello: Greeting? {
        get { state.withLock { $0.hello } }
        set { state.withLock { $0.hello = newValue } }
    }

    public package(set) var helloHost: String? {
        get { state.withLock { $0.helloHost } }
        set { state.withLock { $0.helloHost = newValue } }
    }

    /// Whether this client may relay (set by `relay`, by a successful AUTH, ...).
    public var isRelayClient: Bool {
        get { state.withLock { $0.relayClient } }
        set { state.withLock { $0.relayClient = newValue } }
    }

    /// The negotiated cipher suite when TLS is active.
    public package(set) var tlsCipher: String? {
        get { state.withLock { $0.tlsCipher } }
        set { state.withLock { $0.tlsCipher = newValue } }
    }

    public var isTLS: Bool { tlsCipher != nil }

    public package(set) var authUser: String? {
        get { state.withLock { $0.authUser } }
        set { state.withLock { $0.authUser = newValue } }
    }

    public package(set) var authMechanism: String? {
        get { state.withLock { $0.authMechanism } }
        set { state.withLock { $0.authMechanism = newValue } }
    }

    /// Bytes the client sent while it should have been waiting for a reply (see `OutOfTurnInput`).
    /// The engine connects it to the transport when the session starts.
    public package(set) var outOfTurnInput: OutOfTurnInput {
        get { state.withLock { $0.outOfTurnInput } }
        set { state.withLock { $0.outOfTurnInput = newValue } }
    }

    /// Connections open from this client's address and the server's limit, as the listener
    /// counted them at accept (qpsmtpd's pre-connection `max_conn_ip` and `child_addrs`); nil
    /// where no listener counts (inetd, the session-only test setup).
    public package(set) var addressConcurrency: AddressConcurrency? {
        get { state.withLock { $0.addressConcurrency } }
        set { state.withLock { $0.addressConcurrency = newValue } }
    }

    public subscript<Value>(note key: NoteKey<Value>) -> Value? {
        get { state.withLock { $0.notes[key] } }
        set { state.withLock { $0.notes[key] = newValue } }
    }

    /// Adds a line to the EHLO reply being built; only meaningful inside an `ehlo` hook.
    public func advertise(_ capability: String) {
        state.withLock { $0.extraCapabilities.append(capability) }
    }

    /// The capabilities plugins added during the current EHLO; the session reads and clears them.
    package func takeAdvertisedCapabilities() -> [String] {
        state.withLock { state in
            defer { state.extraCapabilities = [] }
            return state.extraCapabilities
        }
    }

    /// Forgets the greeting and the notes that depend on it (RFC 3207 §4.2 after STARTTLS).
    package func forgetGreeting() {
        state.withLock {
            $0.hello = nil
            $0.helloHost = nil
        }
    }
}

/// How many connections one client address has open, against the server's limit.
public struct AddressConcurrency: Sendable, Hashable {
    /// Open from the address, the one being accepted included.
    public var open: Int
    /// `max_connections_per_ip`; 0 means no limit.
    public var limit: Int

    public init(open: Int, limit: Int) {
        self.open = open
        self.limit = limit
    }
}
