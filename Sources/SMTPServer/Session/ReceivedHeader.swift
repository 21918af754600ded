#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPCore
import SMTPPluginAPI

/// The trace header we put on every message (RFC 5321 §4.4), in qpsmtpd's layout:
///
///     Received: from <remote_info> (HELO <helo>) (<ip>)
///      by <me> (qpsmtpd/<version>) with <proto> [(<cipher> encrypted)]; <date>
enum ReceivedHeader {
    /// `SMTP` after HELO, `ESMTP` after EHLO, with RFC 3848's `S` (TLS) and `A` (AUTH) suffixes.
    static func protocolName(for connection: Connection) -> String {
        guard connection.hello == .ehlo else { return "SMTP" }
        return "ESMTP" + (connection.isTLS ? "S" : "") + (connection.authUser != nil ? "A" : "")
    }

    static func context(for connection: Connection) -> ReceivedLineContext {
        let auth = connection.authUser.map { "(smtp-auth username \($0), mechanism \(connection.authMechanism ?? ""))" } ?? ""
        let tls = connection.tlsCipher.map { "(\($0) encrypted)" } ?? ""
        return ReceivedLineContext(protocolName: protocolName(for: connection), authHeader: auth, tlsInfo: tls)
    }

    /// The value (without `Received:`), folded with `\n`. qpsmtpd leaves a space before `;` when
    /// there is no TLS; we do not.
    static func value(for connection: Connection, hostName: String, version: String, date: String = rfc5322Date()) -> String {
        let context = context(for: connection)
        let helo = connection.helloHost ?? "unknown"
        let with = context.tlsInfo.isEmpty ? context.protocolName : "\(context.protocolName) \(context.tlsInfo)"
        return "from \(connection.remoteInfo) (HELO \(helo)) (\(connection.remoteIP))\n by \(hostName) (qpsmtpd/\(version)) with \(with); \(date)"
    }

    /// Local time as RFC 5322 §3.3 writes it: `Sat, 21 Nov 2026 13:42:15 +0000`.
    static func rfc5322Date(_ seconds: time_t = time(nil)) -> String {
        var t = seconds
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        // The C locale is in force (we never call setlocale), so day and month names are English.
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S %z", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
