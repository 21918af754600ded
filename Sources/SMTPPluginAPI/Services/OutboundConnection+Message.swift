extension OutboundConnection {
    /// Sends a message as the session holds it: `header` (when given, in place of the spooled one,
    /// since plugins may have changed it) then the body from `message.bodyOffset`, read through
    /// `reader` so no blocking read runs here. No dot-stuffing: protocols that need it (SMTP DATA)
    /// must add it.
    public func write(
        message: SpooledMessage, header: MessageHeader?, reader: any SpoolReader, deadline: ContinuousClock.Instant? = nil
    ) async throws {
        let start: Int
        if let header {
            // The body starts at the empty line that ends the header block.
            try await write(header.serialized(), deadline: deadline)
            start = message.bodyOffset
        } else {
            start = 0
        }
        for try await chunk in reader.chunks(of: message, from: start) {
            try await write(chunk, deadline: deadline)
        }
    }
}
