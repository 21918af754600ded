import SMTPPluginAPI

/// The exact number of bytes `OutgoingMessage` will produce, without reading the message through:
/// the header's serialized length, the spooled bytes after it, and the blank line
/// `OutgoingMessage` adds when a replacement header meets a body that starts with text. Protocols
/// that announce a length before the data (spamd's `Content-length`) need this.
enum OutgoingMessageLength {
    static func of(_ message: SpooledMessage, header: MessageHeader?, reader: any SpoolReader) async throws -> Int {
        guard let header else { return message.size }
        let start = message.bodyOffset
        var length = header.serialized().utf8.count + max(0, message.size - start)
        // One byte says whether the separator is added (see OutgoingMessage's iterator).
        let first = try await reader.read(message, at: start, maxCount: 1)
        if let byte = first.first, byte != 0x0D, byte != 0x0A { length += 2 }
        return length
    }
}
