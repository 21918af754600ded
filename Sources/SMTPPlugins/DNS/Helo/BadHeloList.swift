import SMTPPluginAPI

/// The `badhelo` file as qpsmtpd reads it: a line with any of `{}[]()^$|*+?\!` is a regular
/// expression (a leading `!` negates it: the name must match, or it is refused); any other line
/// is a name compared without case. Every line is tried (qpsmtpd ≥ 0.96; older versions stopped
/// at the first pattern). Either way the client is told `I do not believe you are <name>.`.
struct BadHeloList: Sendable {
    /// A compiled pattern. `Regex` is an immutable value; it is only read after load.
    struct Pattern: @unchecked Sendable {
        var source: String
        var regex: Regex<AnyRegexOutput>
        var negated: Bool
    }

    private(set) var names: Set<String> = []
    private(set) var patterns: [Pattern] = []

    private static let patternCharacters = Set("{}[]()^$|*+?\\!")

    init(_ lines: [ConfigLine]) throws {
        for line in lines {
            let entry = line.text
            guard entry.contains(where: { Self.patternCharacters.contains($0) }) else {
                names.insert(entry.lowercased())
                continue
            }
            let negated = entry.hasPrefix("!")
            let source = negated ? String(entry.dropFirst()) : entry
            do {
                patterns.append(Pattern(source: entry, regex: try Regex(source), negated: negated))
            } catch {
                throw PluginArgumentError("\(line.file):\(line.lineNumber): badhelo pattern '\(entry)' is not a valid regular expression")
            }
            // qpsmtpd also compares a pattern line as a plain name; a name never contains these characters.
        }
    }

    /// The refusal for `host`, or nil when no line matches.
    func check(_ host: String) -> Helo.Failure? {
        let lowered = host.lowercased()
        let refusal = "I do not believe you are \(host)."
        for pattern in patterns {
            let matches = lowered.contains(pattern.regex)
            if matches != pattern.negated {
                return Helo.Failure(message: refusal, log: "badhelo pattern match (\(pattern.source))")
            }
        }
        if names.contains(lowered) { return Helo.Failure(message: refusal, log: "in badhelo") }
        return nil
    }
}
