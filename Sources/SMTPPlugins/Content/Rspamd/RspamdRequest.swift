import SMTPPluginAPI

/// What rspamd is told about a message besides its text: the envelope and the session, as
/// HTTP request fields of `POST /checkv2` (rspamd's protocol: `From`, one `Rcpt` per recipient,
/// `IP`, `Helo`, `Hostname`, `User`, `Queue-Id`). Without them rspamd would judge the client by
/// the message's own Received fields.
struct RspamdRequest: Sendable, Equatable {
    /// The envelope sender without brackets; empty for the null sender.
    var sender: String
    var recipients: [String]
    var clientIP: String
    var helo: String?
    /// The client's name from reverse DNS; rspamd treats a missing one as "no rDNS".
    var hostname: String?
    /// The AUTH user, which rspamd exempts from some checks (and its ratelimits count).
    var user: String?
    var queueID: String?

    /// The request line and fields for a body of `contentLength` bytes (the connection closes
    /// after the answer: one message per connection, as rspamc does).
    func head(contentLength: Int) -> String {
        var lines = ["POST /checkv2 HTTP/1.1", "Host: rspamd", "Connection: close"]
        func add(_ name: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            lines.append("\(name): \(Self.clean(value))")
        }
        // rspamd reads an empty From as the null sender.
        lines.append("From: \(Self.clean(sender))")
        for recipient in recipients { add("Rcpt", recipient) }
        add("IP", clientIP)
        add("Helo", helo)
        add("Hostname", hostname)
        add("User", user)
        add("Queue-Id", queueID)
        lines.append("Content-Length: \(contentLength)")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Field values may not carry line ends (a HELO argument is the client's text).
    static func clean(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }.map(Character.init))
    }
}
