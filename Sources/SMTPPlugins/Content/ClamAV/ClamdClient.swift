import SMTPPluginAPI

/// clamd's session-less commands with the `z` prefix (each command and reply ends with a NUL,
/// and clamd closes the connection after answering): `zVERSION`, and `zINSTREAM`, which takes
/// the message as chunks each led by its length as 4 bytes in network order and ended by a
/// zero length. One connection per command.
struct ClamdClient {
    let connector: any OutboundConnector
    let endpoint: OutboundEndpoint

    /// clamd's replies are one short line; anything longer is not clamd.
    static let maximumReply = 8192

    /// `ClamAV 1.4.6/27481/Sat Nov 29 09:25:43 2026` → `ClamAV 1.4.6`.
    func version(deadline: ContinuousClock.Instant) async throws -> String {
        let reply = try await exchange(deadline: deadline) { connection in
            try await connection.write(Array("zVERSION\0".utf8), deadline: deadline)
        }
        return String(reply.split(separator: "/", maxSplits: 1).first ?? "ClamAV")
    }

    func scan(_ chunks: OutgoingMessage, deadline: ContinuousClock.Instant) async throws -> ClamdVerdict {
        let reply = try await exchange(deadline: deadline) { connection in
            try await connection.write(Array("zINSTREAM\0".utf8), deadline: deadline)
            for try await chunk in chunks where !chunk.isEmpty {
                try await connection.write(Self.lengthPrefix(chunk.count) + chunk, deadline: deadline)
            }
            try await connection.write(Self.lengthPrefix(0), deadline: deadline)
        }
        return ClamdVerdict(reply: reply)
    }

    static func lengthPrefix(_ count: Int) -> [UInt8] {
        let n = UInt32(count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
    }

    /// Connects, sends, and reads the reply up to its NUL (or the end of the stream).
    private func exchange(
        deadline: ContinuousClock.Instant, send: (any OutboundConnection) async throws -> Void
    ) async throws -> String {
        let connection = try await connector.connect(to: endpoint, deadline: deadline)
        do {
            try await send(connection)
            var reply: [UInt8] = []
            while !reply.contains(0) {
                let more = try await connection.readAvailable(deadline: deadline)
                if more.isEmpty { break }
                reply += more
                guard reply.count <= Self.maximumReply else { throw ClamdVerdict.Failure(description: "clamd's reply is too long") }
            }
            await connection.close()
            let text = String(decoding: reply.prefix { $0 != 0 }, as: UTF8.self)
            guard !text.isEmpty else { throw ClamdVerdict.Failure(description: "clamd closed the connection without a reply") }
            return text.hasSuffix("\n") ? String(text.dropLast()) : text
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// What clamd said about a stream: `stream: OK`, `stream: Eicar-Test-Signature FOUND`, or an
/// error (`INSTREAM size limit exceeded. ERROR`, anything else).
enum ClamdVerdict: Sendable, Hashable {
    case clean
    case found(String)
    case error(String)

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(reply: String) {
        var text = Substring(reply)
        if text.hasPrefix("stream: ") { text = text.dropFirst("stream: ".count) }
        if text == "OK" {
            self = .clean
        } else if text.hasSuffix(" FOUND") {
            self = .found(String(text.dropLast(" FOUND".count)))
        } else {
            self = .error(reply)
        }
    }
}
