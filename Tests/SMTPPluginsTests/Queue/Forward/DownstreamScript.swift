import SMTPPluginAPI
import SMTPTesting
import Synchronization

/// A scripted downstream SMTP/LMTP server for ScriptedOutboundConnector: answers commands by
/// their verb, stays silent inside the message, and answers the final dot with `dataEnd`.
final class DownstreamScript: Sendable {
    struct Replies: Sendable {
        var greeting = "220 downstream.example ESMTP"
        var ehlo = ["250-downstream.example", "250-PIPELINING", "250-SIZE 10240000", "250-8BITMIME", "250 ENHANCEDSTATUSCODES"]
        var helo = "250 downstream.example"
        var mail = "250 2.1.0 Ok"
        /// By recipient address (without brackets); others get `rcptDefault`.
        var rcpt: [String: String] = [:]
        var rcptDefault = "250 2.1.5 Ok"
        var data = "354 End data with <CR><LF>.<CR><LF>"
        /// Empty: the connection "drops" (nothing more to read).
        var dataEnd = ["250 2.0.0 Ok: queued as 4ABC123"]
        var starttls = "220 2.0.0 Ready to start TLS"
        var xclient = "220 downstream.example ESMTP"
    }

    /// The script's state, in a class of its own so the connector's closure can hold it.
    final class State: Sendable {
        let lock: Mutex<(replies: Replies, inMessage: Bool)>
        init(_ replies: Replies) { lock = Mutex((replies: replies, inMessage: false)) }
    }

    let connector: ScriptedOutboundConnector

    init(_ replies: Replies = Replies()) {
        let state = State(replies)
        connector = ScriptedOutboundConnector(greeting: replies.greeting + "\r\n") { line in
            Self.answer(line, state)
        }
    }

    var connections: [ScriptedOutboundConnection] { connector.connections }
    /// What the plugin wrote on the first connection.
    var written: String { connector.connections.first?.written ?? "" }

    private static func answer(_ line: String, _ state: State) -> String {
        state.lock.withLock { state in
            let r = state.replies
            if state.inMessage {
                guard line == "." else { return "" }
                state.inMessage = false
                return r.dataEnd.map { $0 + "\r\n" }.joined()
            }
            let verb = line.prefix(while: { $0 != " " }).uppercased()
            let reply: String
            switch verb {
            case "EHLO", "LHLO": reply = r.ehlo.joined(separator: "\r\n")
            case "HELO": reply = r.helo
            case "MAIL": reply = r.mail
            case "RCPT":
                let address = String(line.drop(while: { $0 != "<" }).dropFirst().prefix(while: { $0 != ">" }))
                reply = r.rcpt[address] ?? r.rcptDefault
            case "DATA":
                if r.data.hasPrefix("354") { state.inMessage = true }
                reply = r.data
            case "STARTTLS": reply = r.starttls
            case "XCLIENT": reply = r.xclient
            case "RSET": reply = "250 2.0.0 Ok"
            case "QUIT": reply = "221 2.0.0 Bye"
            default: reply = "502 5.5.2 Error: command not recognized"
            }
            // An empty reply: the server says nothing more, as if it had hung up.
            return reply.isEmpty ? "" : reply + "\r\n"
        }
    }
}
