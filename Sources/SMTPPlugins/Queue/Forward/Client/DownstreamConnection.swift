import Logging
import SMTPPluginAPI

/// SMTP or LMTP: the same conversation, except that LMTP greets with LHLO and answers the end
/// of DATA once per accepted recipient (RFC 2033 §4.2).
enum DownstreamDialect: String, Sendable, Hashable {
    case smtp, lmtp
}

/// When we use STARTTLS and what we check.
enum DownstreamTLS: Sendable, Hashable {
    /// STARTTLS when offered, any certificate: encryption against a passive listener, which beats
    /// plain text (RFC 7435's opportunistic security, Postfix's `smtp_tls_security_level = may`).
    case opportunistic
    /// STARTTLS required and the certificate checked; not offered or not valid is a failure.
    case verified(OutboundTLS.Verification)
}

/// How to talk to the downstream server.
struct DownstreamOptions: Sendable, Hashable {
    var endpoint: OutboundEndpoint
    var dialect: DownstreamDialect
    /// Our name in EHLO/LHLO/HELO (config `me`).
    var helloName: String
    var tls: DownstreamTLS = .opportunistic
    /// Send XCLIENT when the server offers it.
    var xclient = false
    var timeouts = ForwardTimeouts()
}

/// The downstream could not take the message now: connect failure, timeout, dropped connection,
/// a temporary refusal, a protocol error. Our client gets `451 4.3.0` and tries again later.
struct DownstreamUnavailable: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// An open, greeted conversation with the downstream server, ready for MAIL. Its steps are
/// sequential: one hook at a time uses it.
final class DownstreamConnection: Sendable {
    let options: DownstreamOptions
    let capabilities: DownstreamCapabilities
    private let connection: any OutboundConnection

    private init(options: DownstreamOptions, capabilities: DownstreamCapabilities, connection: any OutboundConnection) {
        self.options = options
        self.capabilities = capabilities
        self.connection = connection
    }

    /// Connects, reads the greeting, says EHLO (HELO if EHLO is refused; LHLO for LMTP), starts
    /// TLS and sends XCLIENT as `options` say, greeting again after each.
    static func open(
        _ options: DownstreamOptions, connector: any OutboundConnector, client: ClientFacts?, deadlines: StepDeadlines, logger: Logger
    ) async throws -> DownstreamConnection {
        let connection: any OutboundConnection
        do {
            connection = try await connector.connect(to: options.endpoint, tls: nil, deadline: deadlines.connect)
        } catch {
            throw DownstreamUnavailable(reason: "cannot connect to \(options.endpoint): \((error as? OutboundError)?.reason ?? "\(error)")")
        }
        do {
            let greeting = try await DownstreamReplyReader.read(from: connection, deadline: deadlines.command)
            guard greeting.code == 220 else { throw DownstreamUnavailable(reason: "greeting: \(greeting)") }
            var capabilities = try await hello(connection, options, deadlines)

            let wantsVerifiedTLS = if case .verified = options.tls { true } else { false }
            if capabilities.startTLS, case .tcp = options.endpoint {
                let reply = try await command("STARTTLS", on: connection, deadline: deadlines.command)
                guard reply.code == 220 else { throw DownstreamUnavailable(reason: "STARTTLS: \(reply)") }
                let verification: OutboundTLS.Verification = if case .verified(let v) = options.tls { v } else { .none }
                do {
                    // No name given: the connector uses the host, or none for an address literal
                    // (SNI carries names only; the certificate is then checked against the address).
                    try await connection.startTLS(OutboundTLS(serverName: nil, verification: verification), deadline: deadlines.connect)
                } catch {
                    throw DownstreamUnavailable(reason: "TLS with \(options.endpoint): \(error)")
                }
                // RFC 3207 §4.2: everything learnt before TLS is forgotten; ask again.
                capabilities = try await hello(connection, options, deadlines)
            } else if wantsVerifiedTLS {
                throw DownstreamUnavailable(reason: "\(options.endpoint) does not offer STARTTLS, and tls_verify asks for a checked certificate")
            }

            if options.xclient, let client, !capabilities.xclientAttributes.isEmpty {
                for line in ClientFacts.commands(client.attributes(offered: capabilities.xclientAttributes)) {
                    // Postfix answers a successful XCLIENT with a new 220 greeting.
                    let reply = try await command(line, on: connection, deadline: deadlines.command)
                    guard reply.isPositive else { throw DownstreamUnavailable(reason: "XCLIENT refused: \(reply)") }
                }
                capabilities = try await hello(connection, options, deadlines)
            } else if options.xclient {
                logger.info("\(options.endpoint) does not offer XCLIENT; forwarding without it")
            }
            return DownstreamConnection(options: options, capabilities: capabilities, connection: connection)
        } catch {
            await connection.close()
            throw Self.unavailable(error)
        }
    }

    /// EHLO (or LHLO); for SMTP, HELO when EHLO is refused (RFC 5321 §3.2).
    private static func hello(
        _ connection: any OutboundConnection, _ options: DownstreamOptions, _ deadlines: StepDeadlines
    ) async throws -> DownstreamCapabilities {
        let verb = options.dialect == .lmtp ? "LHLO" : "EHLO"
        let reply = try await command("\(verb) \(options.helloName)", on: connection, deadline: deadlines.command)
        if reply.code == 250 { return DownstreamCapabilities(ehloLines: reply.lines) }
        guard options.dialect == .smtp, reply.isPermanent else { throw DownstreamUnavailable(reason: "\(verb): \(reply)") }
        let helo = try await command("HELO \(options.helloName)", on: connection, deadline: deadlines.command)
        guard helo.code == 250 else { throw DownstreamUnavailable(reason: "HELO: \(helo)") }
        return DownstreamCapabilities()
    }

    private static func command(_ line: String, on connection: any OutboundConnection, deadline: ContinuousClock.Instant) async throws -> DownstreamReply {
        try await connection.write(Array((line + "\r\n").utf8), deadline: deadline)
        return try await DownstreamReplyReader.read(from: connection, deadline: deadline)
    }

    /// Any failure below the reply level, as the reason our client's 451 gives.
    static func unavailable(_ error: any Error) -> DownstreamUnavailable {
        switch error {
        case let error as DownstreamUnavailable: return error
        case OutboundError.timedOut: return DownstreamUnavailable(reason: "timed out")
        case OutboundError.closed: return DownstreamUnavailable(reason: "connection lost")
        case is CancellationError: return DownstreamUnavailable(reason: "cancelled")
        default: return DownstreamUnavailable(reason: "\(error)")
        }
    }

    // MARK: Commands

    /// Sends one command line and reads its reply.
    func command(_ line: String, deadline: ContinuousClock.Instant) async throws -> DownstreamReply {
        try await Self.command(line, on: connection, deadline: deadline)
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) async throws {
        try await connection.write(bytes, deadline: deadline)
    }

    func readReply(deadline: ContinuousClock.Instant) async throws -> DownstreamReply {
        try await DownstreamReplyReader.read(from: connection, deadline: deadline)
    }

    /// RSET: back to the state after EHLO. False when the connection is not fit for more.
    func reset(deadline: ContinuousClock.Instant) async -> Bool {
        guard let reply = try? await command("RSET", deadline: deadline) else { return false }
        return reply.code == 250
    }

    /// QUIT, a short wait for its 221, and close.
    func quit(deadline: ContinuousClock.Instant) async {
        _ = try? await command("QUIT", deadline: deadline)
        await connection.close()
    }

    func close() async {
        await connection.close()
    }
}
