import SMTPPluginAPI

/// One request to a scanning daemon that reads a message after a request head (spamd, rspamd):
/// a fresh connection, the head, the message as `OutgoingMessage` (the header as plugins left
/// it, the body streamed from the spool), then the daemon's answer, read by the caller's
/// protocol. The connection is closed whether the exchange succeeds or fails.
struct ScannerExchange {
    let connector: any OutboundConnector
    let endpoint: OutboundEndpoint
    let reader: any SpoolReader

    func send<Answer>(
        head: [UInt8], message: SpooledMessage, header: MessageHeader, deadline: ContinuousClock.Instant,
        readAnswer: (any OutboundConnection) async throws -> Answer
    ) async throws -> Answer {
        let connection = try await connector.connect(to: endpoint, deadline: deadline)
        do {
            try await connection.write(head, deadline: deadline)
            for try await chunk in OutgoingMessage(message, header: header, reader: reader) {
                try await connection.write(chunk, deadline: deadline)
            }
            let answer = try await readAnswer(connection)
            await connection.close()
            return answer
        } catch {
            await connection.close()
            throw error
        }
    }
}
