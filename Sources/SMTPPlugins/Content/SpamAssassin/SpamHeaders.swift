import SMTPPluginAPI

/// How spamd's verdict goes into the message header, as qpsmtpd writes it: spamd's X-Spam-*
/// fields at the top (X-Spam-Report and X-Spam-Prev-Subject left out), an `X-Spam-User: user,
/// N recipients` field when one user scored mail for several, and fields of the same names that
/// an earlier server added (and its X-Spam-Flag and X-Spam-Status in any case, which a ham
/// verdict would not replace) dropped, renamed to X-Old-Spam-*, or kept.
enum SpamHeaders {
    static let skipped: Set<String> = ["x-spam-report", "x-spam-prev-subject"]

    static func apply(
        _ fields: [MessageHeader.Field], spamUser: String?, oldHeaders: SpamAssassinSettings.OldHeaders, to header: inout MessageHeader
    ) {
        var added: [MessageHeader.Field] = []
        for field in fields where !skipped.contains(field.name.lowercased()) {
            // A stray CR inside the value (spamd sends CRLF folds) would break the line ends.
            let value = field.rawValue.withoutLoneCR()
            retire(field.name, oldHeaders, in: &header)
            added.append(MessageHeader.Field(name: field.name, rawValue: value))
        }
        for name in ["X-Spam-Flag", "X-Spam-Status", "X-Spam-User"] { retire(name, oldHeaders, in: &header) }
        if let spamUser { added.append(MessageHeader.Field(name: "X-Spam-User", value: spamUser)) }
        header.fields.insert(contentsOf: added, at: 0)
    }

    /// Drops or renames (`X-Spam-Flag` → `X-Old-Spam-Flag`, appended at the end) earlier fields named `name`.
    static func retire(_ name: String, _ action: SpamAssassinSettings.OldHeaders, in header: inout MessageHeader) {
        guard action != .keep else { return }
        let old = header.all(named: name)
        guard !old.isEmpty else { return }
        header.remove(named: name)
        guard action == .rename else { return }
        let renamed = name.lowercased().hasPrefix("x-") ? "X-Old-" + name.dropFirst(2) : "Old-" + name
        for field in old { header.fields.append(MessageHeader.Field(name: renamed, rawValue: field.rawValue)) }
    }

    /// `Subject: <prefix> <subject>` (qpsmtpd's munge_subject_threshold).
    /// The field keeps its place; a message without one gets one at the end.
    static func mungeSubject(prefix: String, in header: inout MessageHeader) {
        let subject = header.value(of: "Subject") ?? ""
        let field = MessageHeader.Field(name: "Subject", value: subject.isEmpty ? prefix : "\(prefix) \(subject)")
        if let index = header.fields.firstIndex(where: { $0.name.lowercased() == "subject" }) {
            header.fields[index] = field
            header.fields.removeAll { $0.name.lowercased() == "subject" && $0 != field }
        } else {
            header.fields.append(field)
        }
    }
}

extension String {
    /// The string with every CR that is not part of a CRLF removed.
    fileprivate func withoutLoneCR() -> String {
        var out = ""
        var previousCR = false
        for scalar in unicodeScalars {
            if previousCR && scalar == "\n" { out.unicodeScalars.append("\r") }
            previousCR = scalar == "\r"
            if !previousCR { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
