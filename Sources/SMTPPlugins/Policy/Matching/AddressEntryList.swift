import Logging
import SMTPPluginAPI

/// The `badmailfrom` / `badrcptto` file format: each line is an entry, then optionally a reason
/// after whitespace. An entry holding any of `/ ^ $ * + ! % ? \` is a pattern (qpsmtpd's rule;
/// note that `.` alone does not make one, and that `a+b@x` is one, where `+` repeats the `a`:
/// write `a\+b@x`); otherwise it is a whole address, or `@host` for every
/// address at host, compared without case. Other lines (no `@`) can never match: qpsmtpd warns
/// about them at every MAIL, we once at load.
struct AddressEntryList: Sendable {
    enum Entry: Sendable {
        case address(String)
        case domain(String)
        case pattern(PerlPattern)

        /// The entry as the file wrote it (lower-cased unless a pattern), for replies and logs.
        var text: String {
            switch self {
            case .address(let a): return a
            case .domain(let d): return "@" + d
            case .pattern(let p): return p.source
            }
        }
    }

    struct Line: Sendable {
        var entry: Entry
        var reason: String?
    }

    private(set) var lines: [Line] = []

    static let patternCharacters = Set("/^$*+!%?\\")

    /// `allPatterns`: every line is a pattern (the old `*_patterns` files).
    /// `patternsIgnoreCase`: badrcptto matches patterns with `/i`, badmailfrom does not.
    init(_ configLines: [ConfigLine], allPatterns: Bool = false, patternsIgnoreCase: Bool, logger: Logger) throws {
        for line in configLines {
            let words = line.text.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first else { continue }
            let entry = String(first)
            let reason = words.count > 1 ? String(words[1]).trimmingSpacesAndTabs() : nil
            if allPatterns || entry.contains(where: { Self.patternCharacters.contains($0) }) {
                let pattern = try PerlPattern(entry, ignoringCase: patternsIgnoreCase, at: line)
                lines.append(Line(entry: .pattern(pattern), reason: reason))
                continue
            }
            let lowered = entry.lowercased()
            guard let at = lowered.firstIndex(of: "@") else {
                logger.warning("\(line.file):\(line.lineNumber): ignoring '\(entry)': no @ sign, so it can never match")
                continue
            }
            if at == lowered.startIndex {
                lines.append(Line(entry: .domain(String(lowered.dropFirst())), reason: reason))
            } else {
                lines.append(Line(entry: .address(lowered), reason: reason))
            }
        }
    }

    var isEmpty: Bool { lines.isEmpty }

    /// The first line matching `address` (`user@host`, lower-cased) whose host is `host`.
    func firstMatch(address: String, host: String) -> Line? {
        lines.first { line in
            switch line.entry {
            case .address(let a): return a == address
            case .domain(let d): return d == host
            case .pattern(let p): return p.matches(address)
            }
        }
    }
}

extension String {
    func trimmingSpacesAndTabs() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isBlank($0) }), let end = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[start...end])
    }
}
