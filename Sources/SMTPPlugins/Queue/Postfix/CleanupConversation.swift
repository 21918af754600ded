import SMTPPluginAPI

/// One message handed to Postfix's cleanup service over an open connection, as Postfix's own
/// front ends do it (smtpd, pickup):
///
/// 1. cleanup opens a queue file and sends `protocol=cleanup_protocol` (Postfix 3.x; older
///    versions send none) and `queue_id=<id>`;
/// 2. we send `flags=<n>`, then records: `T` arrival time, `S` sender, one `R` per recipient,
///    `M`, the header and body as `N` lines (long lines as `L` pieces), `X`, `E`;
/// 3. cleanup writes and fsyncs the queue file and answers `status=<bits>` and `reason=<text>`.
///
/// Status 0 is the only answer that means Postfix has the message. Everything else, including a
/// connection that breaks before the answer, leaves it with Postfix to have discarded the file.
struct CleanupConversation {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Answer: Sendable, Hashable {
        var queueID: String
        var status: CleanupStatus
        var reason: String
    }

    /// Records are collected up to this many bytes before a write: one write per 64 KiB, not one
    /// per line, and never more than this plus one line piece held here.
    static let writeThreshold = 65_536

    let connection: any OutboundConnection
    let deadline: ContinuousClock.Instant
    private var decoder = PostfixAttributeListDecoder(maximumSize: 4096)

    init(connection: any OutboundConnection, deadline: ContinuousClock.Instant) {
        self.connection = connection
        self.deadline = deadline
    }

    /// Cleanup's greeting: its queue id.
    mutating func readQueueID() async throws -> String {
        let greeting = try await readAttributes(what: "greeting")
        if let protocolName = greeting["protocol"], protocolName != "cleanup_protocol" {
            throw Failure(description: "peer speaks '\(protocolName)', not the cleanup protocol")
        }
        guard let queueID = greeting["queue_id"] else {
            throw Failure(description: "greeting without queue_id")
        }
        // Postfix's ids are letters and digits; anything else would end up in our reply.
        guard (1...64).contains(queueID.utf8.count), queueID.utf8.allSatisfy(Self.isAlphanumeric) else {
            throw Failure(description: "queue_id '\(CleanupStatus.printable(queueID))' is not a Postfix queue id")
        }
        return queueID
    }

    /// Sends the envelope and content and returns cleanup's verdict (after `readQueueID`).
    /// `sender` and `recipients` are addresses in Postfix's internal (unquoted) form.
    mutating func send<Content: AsyncSequence>(
        flags: Int, arrival: WallTime, sender: String, recipients: [String], content: Content
    ) async throws -> (status: CleanupStatus, reason: String) where Content.Element == [UInt8] {
        var out = PostfixAttributeList(["flags": String(flags)]).encoded()
        let seconds = arrival.secondsSinceEpoch.rounded(.down)
        let microseconds = min(999_999, Int((arrival.secondsSinceEpoch - seconds) * 1_000_000))
        PostfixRecord.append(.time, Array("\(Int(seconds)) \(microseconds)".utf8), to: &out)
        PostfixRecord.append(.sender, Array(sender.utf8), to: &out)
        for recipient in recipients {
            PostfixRecord.append(.recipient, Array(recipient.utf8), to: &out)
        }
        PostfixRecord.append(.messageStart, [], to: &out)

        var splitter = LineSplitter()
        for try await chunk in content {
            for line in splitter.split(chunk) {
                PostfixRecord.appendLine(line, to: &out)
                if out.count >= Self.writeThreshold {
                    try await connection.write(out, deadline: deadline)
                    out.removeAll(keepingCapacity: true)
                }
            }
        }
        if let rest = splitter.finish() {
            PostfixRecord.appendLine(rest, to: &out)
        }
        PostfixRecord.append(.extracted, [], to: &out)
        PostfixRecord.append(.end, [], to: &out)
        try await connection.write(out, deadline: deadline)

        let answer = try await readAttributes(what: "answer")
        guard let text = answer["status"], let bits = Int(text) else {
            throw Failure(description: "answer without a numeric status")
        }
        return (CleanupStatus(rawValue: bits), answer["reason"] ?? "")
    }

    private mutating func readAttributes(what: String) async throws -> PostfixAttributeList {
        while true {
            do {
                if let list = try decoder.next() { return list }
            } catch {
                throw Failure(description: "\(what): \(error)")
            }
            let bytes = try await connection.readAvailable(deadline: deadline)
            if bytes.isEmpty {
                throw Failure(description: "cleanup closed the connection before its \(what)")
            }
            decoder.feed(bytes)
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
