/// Every hook a session walks through, named as qpsmtpd names them.
public enum HookPoint: String, Sendable, CaseIterable, Hashable {
    case logging
    case preConnection = "pre-connection"
    case connect
    case helo
    case ehlo
    case mailPre = "mail_pre"
    case mail
    case rcptPre = "rcpt_pre"
    case rcpt
    case data
    case dataHeadersEnd = "data_headers_end"
    case dataPostHeaders = "data_post_headers"
    case receivedLine = "received_line"
    case dataPost = "data_post"
    case queuePre = "queue_pre"
    case queue
    case queuePost = "queue_post"
    case resetTransaction = "reset_transaction"
    case vrfy
    case noop
    case help
    case quit
    case disconnect
    case postConnection = "post-connection"
    case unrecognizedCommand = "unrecognized_command"
    case deny
    case ok
    /// Generic authenticator, asked after the mechanism's own hooks declined (qpsmtpd's order).
    case auth
    case authPlain = "auth-plain"
    case authLogin = "auth-login"
    case authCramMD5 = "auth-cram-md5"
}
