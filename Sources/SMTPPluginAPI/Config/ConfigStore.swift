/// One meaningful line of a config file, with where it came from (for error messages).
public struct ConfigLine: Sendable, Hashable {
    public var text: String
    public var file: String
    public var lineNumber: Int
    public init(text: String, file: String, lineNumber: Int) {
        self.text = text
        self.file = file
        self.lineNumber = lineNumber
    }
}

/// qmail-style control files (`me`, `rcpthosts`, `databytes`, ...): one value per line, whole-line
/// `#` comments and blank lines skipped, surrounding whitespace trimmed, `$include` followed.
public protocol ConfigStore: Sendable {
    /// The meaningful lines of file `name`, empty when it does not exist.
    func entries(_ name: String) -> [ConfigLine]
    /// Forgets cached contents (SIGHUP).
    func reload()
}

extension ConfigStore {
    public func lines(_ name: String) -> [String] { entries(name).map(\.text) }

    /// The first line, as qpsmtpd's scalar `config(name)`.
    public func value(_ name: String) -> String? { entries(name).first?.text }

    /// The first line as an integer; nil when missing or not a number.
    public func integer(_ name: String) -> Int? { value(name).flatMap { Int($0) } }

    /// A true first line: anything but empty, `0`, `no`, `false`, `off`.
    public func flag(_ name: String) -> Bool {
        guard let v = value(name)?.lowercased() else { return false }
        return !["0", "no", "false", "off", ""].contains(v)
    }
}

/// A config store held in memory, for tests and embedding.
public final class InMemoryConfigStore: ConfigStore {
    private let files: [String: [String]]

    public init(_ files: [String: [String]] = [:]) {
        self.files = files
    }

    public func entries(_ name: String) -> [ConfigLine] {
        ConfigFileFormat.meaningfulLines(files[name] ?? [], file: "memory:\(name)")
    }

    public func reload() {}
}

/// The qmail control-file format, shared by every store.
public enum ConfigFileFormat {
    /// Trims, drops blank lines and whole-line comments; numbers kept for messages.
    /// `$include` lines are kept for the caller to resolve.
    public static func meaningfulLines(_ raw: [String], file: String) -> [ConfigLine] {
        var out: [ConfigLine] = []
        for (index, line) in raw.enumerated() {
            // qpsmtpd chomps CR too: files written on Windows must still read cleanly.
            var text = line.trimmingSpaces()
            while text.hasSuffix("\r") { text = String(text.dropLast()).trimmingSpaces() }
            if text.isEmpty || text.hasPrefix("#") { continue }
            out.append(ConfigLine(text: text, file: file, lineNumber: index + 1))
        }
        return out
    }
}
