import SMTPPluginAPI

/// One request to spamd (SpamAssassin's spamc/spamd protocol 1.5), `HEADERS` or `SYMBOLS`: the
/// request line, `Content-length` (the exact byte count of what follows, which spamd reads and no
/// more), `User`, a blank line, then the message streamed from the spool with qpsmtpd's
/// `X-Envelope-From` field in front. spamd answers with a status line, `Spam: True ; 7.2 / 5.0`,
/// and the header block as it would rewrite it (HEADERS) or the names of the rules that hit
/// (SYMBOLS), and closes the connection.
struct SpamdClient {
    enum Command: String {
        /// The rewritten header block: for the X-Spam-* fields that go on the message.
        case headers = "HEADERS"
        /// Only the verdict and the rules' names: when no field is wanted (`headers none`).
        case symbols = "SYMBOLS"
    }

    let connector: any OutboundConnector
    let endpoint: OutboundEndpoint
    let reader: any SpoolReader

    /// A reply longer than this is not a header block: cut off rather than buffered.
    static let maximumReply = 1 << 20

    func check(
        _ message: SpooledMessage, header: MessageHeader, sender: String, user: String, command: Command = .headers,
        deadline: ContinuousClock.Instant
    ) async throws -> SpamdReply {
        let envelope = Array("X-Envelope-From: \(sender)\r\n".utf8)
        let length = try await envelope.count + OutgoingMessageLength.of(message, header: header, reader: reader)
        let request = Array("\(command.rawValue) SPAMC/1.5\r\nContent-length: \(length)\r\nUser: \(user)\r\n\r\n".utf8) + envelope

        let exchange = ScannerExchange(connector: connector, endpoint: endpoint, reader: reader)
        return try await exchange.send(head: request, message: message, header: header, deadline: deadline) { connection in
            try await Self.readReply(from: connection, command: command, deadline: deadline)
        }
    }

    static func readReply(
        from connection: any OutboundConnection, command: Command = .headers, deadline: ContinuousClock.Instant
    ) async throws -> SpamdReply {
        try SpamdReply.checkStatusLine(try await connection.readLine(maxLength: 1024, deadline: deadline))
        var verdict: SpamdReply.Verdict?
        var contentLength: Int?
        while true {
            let line = try await connection.readLine(maxLength: 8192, deadline: deadline)
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingSpacesAndTabs()
            if name == "spam" { verdict = SpamdReply.parseVerdict(value) }
            if name == "content-length" { contentLength = Int(value) }
        }
        var block: [UInt8] = []
        if let contentLength {
            guard contentLength <= maximumReply else {
                throw SpamdReply.Failure(description: "spamd announced a \(contentLength)-byte reply")
            }
            block = try await connection.read(exactly: contentLength, deadline: deadline)
        } else {
            // Without a length the reply ends where spamd closes the connection.
            while true {
                let more = try await connection.readAvailable(deadline: deadline)
                if more.isEmpty { break }
                block += more
                if block.count > maximumReply { throw SpamdReply.Failure(description: "spamd's reply is too long") }
            }
        }
        let text = String(decoding: block, as: UTF8.self)
        switch command {
        case .headers: return SpamdReply(verdict: verdict, fields: SpamdReply.spamFields(in: text))
        case .symbols: return SpamdReply(verdict: verdict, fields: [], symbols: SpamdReply.symbols(in: text))
        }
    }
}
