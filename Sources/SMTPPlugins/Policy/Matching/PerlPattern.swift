import SMTPPluginAPI

/// A qpsmtpd config-file pattern (a Perl regular expression), compiled once at load with Swift's
/// `Regex`. The common subset behaves as in Perl: literals, `.`, classes `[...]`, `\d \w \s` and
/// their negations, anchors `^ $ \b`, quantifiers (greedy and lazy, `{m,n}`), groups, alternation,
/// look-ahead `(?=…)`/`(?!…)`, `\Q…\E` and inline `(?i)`. Matching is by Unicode scalar, as Perl
/// matches code points, and unanchored (Perl's `=~ /re/`). What Swift's `Regex` does not take —
/// look-behind `(?<=…)`/`(?<!…)`, embedded code `(?{…})`, recursion — and any broken pattern stop
/// the load with the file and line, instead of failing later in a hook as Perl would.
struct PerlPattern: @unchecked Sendable {
    // `Regex` is an immutable value that is only read after load; it is not marked Sendable.
    let source: String
    private let regex: Regex<AnyRegexOutput>

    init(_ source: String, ignoringCase: Bool = false, at line: ConfigLine) throws {
        self.source = source
        do {
            var compiled = try Regex(source).matchingSemantics(.unicodeScalar)
            if ignoringCase { compiled = compiled.ignoresCase() }
            regex = compiled
        } catch {
            throw PluginArgumentError("\(line.file):\(line.lineNumber): '\(source)' is not a regular expression this server understands (\(error))")
        }
    }

    /// Whether the pattern matches anywhere in `text`.
    func matches(_ text: String) -> Bool {
        text.contains(regex)
    }
}
