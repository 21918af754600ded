import SMTPCore
import SMTPPluginAPI

/// The `status` bits Postfix's cleanup service answers with (`cleanup_user.h`), and what each
/// becomes for the client: qpsmtpd's split (`Qpsmtpd::Postfix::Constants`) with Postfix's own
/// reply codes, enhanced codes and texts (`cleanup_strerror.c`), so a client hears what Postfix's
/// smtpd would have said (`552 5.3.4` for a message too big), not our generic queue 554.
struct CleanupStatus: OptionSet, Sendable, Hashable {
    let rawValue: Int

    /// Internal protocol error.
    static let bad = CleanupStatus(rawValue: 1 << 0)
    /// Error writing the queue file.
    static let write = CleanupStatus(rawValue: 1 << 1)
    /// Message larger than `message_size_limit`.
    static let size = CleanupStatus(rawValue: 1 << 2)
    /// Content rejected (header_checks, body_checks, a milter).
    static let content = CleanupStatus(rawValue: 1 << 3)
    /// Too many Received headers (`hopcount_limit`).
    static let hops = CleanupStatus(rawValue: 1 << 4)
    /// No recipients.
    static let recipients = CleanupStatus(rawValue: 1 << 6)
    /// Rejected by a before-queue proxy.
    static let proxy = CleanupStatus(rawValue: 1 << 7)
    /// Temporarily rejected (a DEFER action, a milter's tempfail).
    static let deferred = CleanupStatus(rawValue: 1 << 8)

    /// Bits that mean "try again later", checked first as qpsmtpd does: a message both too big
    /// and not written (SIZE|WRITE) is a temporary failure, not a bounce.
    static let temporary: [(bit: CleanupStatus, code: Int, text: String)] = [
        (.deferred, 451, "4.7.1 service unavailable"),
        (.proxy, 451, "4.3.0 queue file write error"),
        (.bad, 451, "4.3.0 internal protocol error"),
        (.write, 451, "4.3.0 queue file write error"),
    ]

    static let permanent: [(bit: CleanupStatus, code: Int, text: String)] = [
        (.recipients, 550, "5.1.0 no recipients specified"),
        (.hops, 554, "5.4.0 too many hops"),
        (.size, 552, "5.3.4 message file too big"),
        (.content, 550, "5.7.1 message content rejected"),
    ]

    /// What the queue hook answers for a non-zero status: Postfix's `reason` when it gave one
    /// (with the bit's enhanced code in front when the reason has none), else the bit's text.
    /// A status with none of the known bits is a temporary failure: we do not know it was refused.
    func hookResult(reason: String) -> HookResult {
        let reason = Self.printable(reason)
        for (bit, code, text) in Self.temporary + Self.permanent where contains(bit) {
            return .done(SMTPReply(code: code, defaultEnhanced: nil, text: Self.message(reason, default: text)))
        }
        return .denySoft("4.3.0 Unable to queue message (status \(rawValue)\(reason.isEmpty ? "" : ": " + reason))")
    }

    private static func message(_ reason: String, default text: String) -> String {
        guard !reason.isEmpty else { return text }
        if startsWithEnhancedCode(reason) { return reason }
        return String(text.prefix { $0 != " " }) + " " + reason
    }

    /// `d.d.d ` at the start (RFC 3463: class, subject 1–3 digits, detail 1–3 digits).
    static func startsWithEnhancedCode(_ text: String) -> Bool {
        guard let word = text.split(separator: " ", maxSplits: 1).first else { return false }
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, ["2", "4", "5"].contains(parts[0]) else { return false }
        return parts.dropFirst().allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(\.isASCIIDigit) }
    }

    /// The reason on one line, without control characters, and not endless: it goes into a reply.
    static func printable(_ reason: String) -> String {
        let cleaned = reason.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }
        let trimmed = cleaned.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
        return String(trimmed.prefix(400))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
