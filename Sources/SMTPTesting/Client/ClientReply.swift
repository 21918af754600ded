/// A reply as a client sees it: the code and the text of every line (enhanced code included).
public struct ClientReply: Sendable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]
    /// What this replies to, when the client knows (`SMTPTestClient` does): named in errors.
    public var command: String?

    public init(code: Int, lines: [String], command: String? = nil) {
        self.code = code
        self.lines = lines
        self.command = command
    }

    public var text: String { lines.joined(separator: "\n") }
    public var description: String { "\(code) \(lines.joined(separator: " | "))" }

    /// The RFC 3463 code at the start of the first line (`5.7.1`), if there is one.
    public var enhancedCode: String? {
        guard let word = lines.first?.split(separator: " ", maxSplits: 1).first else { return nil }
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return String(word)
    }

    /// Checks the code and, when given, the enhanced code; returns the reply so a test can look
    /// further: `try await client.rcpt(to: "a@elsewhere.example").expect(550, "5.7.1")`.
    @discardableResult
    public func expect(_ code: Int, _ enhanced: String? = nil) throws -> ClientReply {
        guard self.code == code, enhanced == nil || enhancedCode == enhanced else {
            throw ClientError.unexpected(expected: enhanced.map { "\(code) \($0)" } ?? "\(code)", got: self, after: command)
        }
        return self
    }
}

public enum ClientError: Error, CustomStringConvertible {
    case closed
    /// `after`: the last command sent, so a failing step in a long script is easy to find.
    case unexpected(expected: String, got: ClientReply, after: String?)
    case malformed(String)
    /// The test asked for something this setup cannot do.
    case unsupported(String)

    public var description: String {
        switch self {
        case .closed: return "connection closed"
        case .unexpected(let expected, let got, let after): return "expected \(expected), got \(got)" + (after.map { " (after \($0))" } ?? "")
        case .malformed(let line): return "malformed reply line: \(line)"
        case .unsupported(let what): return "unsupported: \(what)"
        }
    }
}
