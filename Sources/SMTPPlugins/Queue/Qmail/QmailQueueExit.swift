import SMTPPluginAPI

/// What qmail-queue's exit status means for the client, from qmail-queue(8): 0 queued; 11 to 40
/// permanent; anything else temporary, so an unknown code keeps the message with the client.
enum QmailQueueExit {
    static func refusal(for code: Int32) -> HookResult {
        let what = meaning[code] ?? (isPermanent(code) ? "permanent failure" : "temporary failure")
        let text = "Unable to queue message (\(code)): \(what)"
        if isPermanent(code) { return .deny("5.3.0 \(text)") }
        // Connection trouble between a qmail-queue stand-in and its mail server is a routing
        // matter (4.4.x), everything else a mail system one.
        let enhanced = (72...74).contains(code) ? (code == 74 ? "4.4.2" : "4.4.1") : "4.3.0"
        return .denySoft("\(enhanced) \(text)")
    }

    static func isPermanent(_ code: Int32) -> Bool { (11...40).contains(code) }

    /// The man page's words for its codes, shortened.
    static let meaning: [Int32: String] = [
        11: "address too long",
        31: "mail server permanently refuses the message",
        51: "out of memory",
        52: "timeout",
        53: "write error (disk full?)",
        54: "unable to read the message or envelope",
        55: "unable to read a configuration file",
        56: "network problem",
        61: "problem with the qmail home directory",
        62: "problem with the queue directory",
        63: "problem with queue/pid",
        64: "problem with queue/mess",
        65: "problem with queue/intd",
        66: "problem with queue/todo",
        71: "mail server temporarily refuses the message",
        72: "connection to mail server timed out",
        73: "connection to mail server refused",
        74: "communication with mail server failed",
        81: "internal bug",
        91: "envelope format error",
    ]
}
