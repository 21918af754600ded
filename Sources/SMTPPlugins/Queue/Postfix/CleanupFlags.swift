import SMTPPluginAPI

/// The `flags` a client hands the cleanup service, by the names qpsmtpd's plugin takes
/// (`FLAG_…`, Postfix's `CLEANUP_FLAG_…` in `cleanup_user.h`). They choose what cleanup does
/// with the message; none is on by default, as in qpsmtpd.
enum CleanupFlags {
    static let none = 0
    static let bounce = 1 << 0
    /// header_checks, body_checks, content_filter.
    static let filter = 1 << 1
    static let hold = 1 << 2
    static let discard = 1 << 3
    /// Automatic BCC (recipient_bcc_maps, always_bcc).
    static let bccOK = 1 << 4
    /// Address mapping (canonical and virtual alias maps).
    static let mapOK = 1 << 5
    static let milter = 1 << 6

    static let byName: [String: Int] = [
        "FLAG_NONE": none,
        "FLAG_BOUNCE": bounce,
        "FLAG_FILTER": filter,
        "FLAG_HOLD": hold,
        "FLAG_DISCARD": discard,
        "FLAG_BCC_OK": bccOK,
        "FLAG_MAP_OK": mapOK,
        "FLAG_MILTER": milter,
        "FLAG_FILTER_ALL": filter | milter,
        // What Postfix itself gives mail from outside (smtpd, pickup): usually the one to use.
        "FLAG_MASK_EXTERNAL": filter | milter | bccOK | mapOK,
        "FLAG_MASK_INTERNAL": mapOK,
        "FLAG_MASK_EXTRA": hold | discard,
    ]

    /// The flags the words name, or-ed; an unknown word stops the load (qpsmtpd only warned,
    /// and then queued without the flag the administrator asked for).
    static func parse(_ words: [String]) throws -> Int {
        var flags = none
        for word in words {
            guard let value = byName[word] else {
                throw PluginArgumentError(
                    "unknown cleanup flag '\(word)'; known: \(byName.keys.sorted().joined(separator: ", "))")
            }
            flags |= value
        }
        return flags
    }
}
