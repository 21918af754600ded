import FoundationEssentials
import NIOCore
import SMTPCore

/// Reads the client's answers to `334` prompts. Every way out ends with a reply: qpsmtpd stays
/// silent on an empty PLAIN password or a `*` cancel, which stalls the client.
struct SASLResponseReader<Inbound: AsyncIteratorProtocol> where Inbound.Element == SMTPInboundPart {
    var inbound: Inbound
    let session: SMTPSession

    /// The decoded response; nil after answering a cancel, bad base64 or a lost connection.
    mutating func response(initial: String?, prompt: String) async throws -> [UInt8]? {
        let line: String
        if let initial {
            // RFC 4954 §4: "=" stands for an empty initial response.
            line = initial == "=" ? "" : initial
        } else {
            session.machine.apply(.saslPrompted)
            session.respond(Response(reply: SMTPReply(code: 334, lines: [prompt])))
            try await session.flush()
            guard let next = try await nextLine() else { return nil }
            line = next
        }
        if line == "*" {
            session.endExchange(Response(501, EnhancedStatusCode(5, 7, 0), "Authentication cancelled"))
            return nil
        }
        guard let decoded = Data(base64Encoded: line) else {
            session.endExchange(Response(501, EnhancedStatusCode(5, 5, 2), "Invalid base64 data"))
            return nil
        }
        return Array(decoded)
    }

    private mutating func nextLine() async throws -> String? {
        while let part = try await inbound.next() {
            switch part {
            case .command(let buffer):
                // The framer stopped after this line: the next reply says how to read on.
                session.lineDecidesMode = true
                return String(buffer: buffer)
            case .commandLineTooLong:
                session.lineDecidesMode = true
                session.endExchange(Response(500, .syntaxError, "Authentication response too long"))
                return nil
            case .timedOut(let what):
                session.respond(session.timedOut(what))
                return nil
            case .shutdownRequested:
                session.respond(Response(421, .connectionTimedOut, "\(session.settings.hostName) closing connection", disconnect: true))
                return nil
            default:
                continue
            }
        }
        return nil
    }
}
