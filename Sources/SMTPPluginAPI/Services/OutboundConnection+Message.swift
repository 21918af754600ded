extension OutboundConnection {
    /// Sends a message as the session holds it (see `OutgoingMessage`): `header` when given, in
    /// place of the spooled one, since plugins may have changed it, then the body, read through
    /// `reader` so no blocking read runs here. No dot-stuffing: protocols that need it (SMTP DATA)
    /// must add it (`DotStuffer`).
    public func write(
        message: SpooledMessage, header: MessageHeader?, reader: any SpoolReader, deadline: ContinuousClock.Instant? = nil
    ) async throws {
        for try await chunk in OutgoingMessage(message, header: header, reader: reader) {
            try await write(chunk, deadline: deadline)
        }
    }
}
