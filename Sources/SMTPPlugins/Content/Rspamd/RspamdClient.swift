import SMTPPluginAPI

/// One `POST /checkv2` to rspamd over HTTP/1.1: the request fields (`RspamdRequest`) with the
/// exact `Content-Length` (`OutgoingMessageLength`), the message streamed from the spool as
/// `OutgoingMessage`, then the answer's status line, fields and JSON body, read up to its
/// `Content-Length` or, without one, until rspamd closes the connection.
struct RspamdClient {
    let connector: any OutboundConnector
    let endpoint: OutboundEndpoint
    let reader: any SpoolReader

    /// rspamd's verdict with every symbol is a few KB; more than this is not an answer.
    static let maximumBody = 4 << 20

    func check(
        _ message: SpooledMessage, header: MessageHeader, request: RspamdRequest, deadline: ContinuousClock.Instant
    ) async throws -> RspamdReply {
        let length = try await OutgoingMessageLength.of(message, header: header, reader: reader)
        let exchange = ScannerExchange(connector: connector, endpoint: endpoint, reader: reader)
        let body = try await exchange.send(
            head: Array(request.head(contentLength: length).utf8), message: message, header: header, deadline: deadline
        ) { connection in
            try await Self.readResponse(from: connection, deadline: deadline)
        }
        return try RspamdReply.parse(body)
    }

    /// The body of a `200` answer; any other status is rspamd refusing the request.
    static func readResponse(from connection: any OutboundConnection, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        let status = try await connection.readLine(maxLength: 1024, deadline: deadline)
        let words = status.split(separator: " ", maxSplits: 2)
        guard words.count >= 2, words[0].hasPrefix("HTTP/1.") else {
            throw RspamdReply.Failure(description: "not an HTTP answer: '\(status.prefix(120))'")
        }
        var contentLength: Int?
        var chunked = false
        while true {
            let line = try await connection.readLine(maxLength: 8192, deadline: deadline)
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingSpacesAndTabs()
            if name == "content-length" { contentLength = Int(value) }
            if name == "transfer-encoding" && value.lowercased() != "identity" { chunked = true }
        }
        guard words[1] == "200" else {
            throw RspamdReply.Failure(description: "rspamd answered '\(status.prefix(120))'")
        }
        guard !chunked else { throw RspamdReply.Failure(description: "rspamd sent a chunked answer") }
        if let contentLength {
            guard (0...maximumBody).contains(contentLength) else {
                throw RspamdReply.Failure(description: "rspamd announced a \(contentLength)-byte answer")
            }
            return try await connection.read(exactly: contentLength, deadline: deadline)
        }
        var body: [UInt8] = []
        while true {
            let more = try await connection.readAvailable(deadline: deadline)
            if more.isEmpty { return body }
            body += more
            guard body.count <= maximumBody else { throw RspamdReply.Failure(description: "rspamd's answer is too long") }
        }
    }
}
