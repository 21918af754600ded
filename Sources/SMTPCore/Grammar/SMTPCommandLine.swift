/// One command line split into its verb and the rest, before any per-command grammar is applied.
///
/// qpsmtpd splits on runs of spaces only (a tab is not a separator) and lowercases the verb;
/// a verb must be 1 to 12 word characters. Anything else is an unrecognised command.
public struct SMTPCommandLine: Hashable, Sendable {
    /// Lowercased verb, e.g. `mail`. Empty when the line started with a space.
    public var verb: String
    /// Everything after the first run of spaces, trailing spaces kept out.
    public var argument: String

    public init(verb: String, argument: String) {
        self.verb = verb
        self.argument = argument
    }

    public init(parsing line: String) {
        let trimmed = Substring(line)
        if let space = trimmed.firstIndex(of: " ") {
            verb = String(trimmed[..<space]).lowercased()
            var rest = trimmed[space...].drop(while: { $0 == " " })
            while rest.last == " " { rest = rest.dropLast() }
            argument = String(rest)
        } else {
            verb = String(trimmed).lowercased()
            argument = ""
        }
    }

    /// True when the verb is a syntactically plausible command name (`\w{1,12}`).
    public var hasWellFormedVerb: Bool {
        (1...12).contains(verb.utf8.count)
            && verb.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// The command this line names, when it is one the core implements.
    public var knownCommand: SMTPVerb? { hasWellFormedVerb ? SMTPVerb(rawValue: verb) : nil }
}

/// The verbs the core answers itself; anything else goes to the `unrecognized_command` hook.
public enum SMTPVerb: String, Sendable, CaseIterable {
    case helo, ehlo, mail, rcpt, data, rset, noop, vrfy, help, quit
    /// Offered only when a certificate is configured (RFC 3207).
    case starttls
    /// Offered only when an auth plugin is loaded (RFC 4954).
    case auth
}
