// STUB: replaced by the full RFC 5321 path grammar (helper task). Signatures are the contract.

/// Why a MAIL/RCPT argument was refused; `message` is the reply text (501).
public struct PathSyntaxError: Error, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// MAIL/RCPT argument split into the path text and its ESMTP parameters.
public struct PathArgument: Hashable, Sendable {
    /// The path as written (`<a@b>`, or a bare `a@b` that `dont_require_anglebrackets` may wrap); nil when absent.
    public var path: String?
    public var parameters: [ESMTPParameter]
    public init(path: String?, parameters: [ESMTPParameter]) {
        self.path = path
        self.parameters = parameters
    }
}

public enum PathParser {
    public static func splitMailArgument(_ argument: String) throws(PathSyntaxError) -> PathArgument {
        try split(argument, prefix: "from:")
    }
    public static func splitRcptArgument(_ argument: String) throws(PathSyntaxError) -> PathArgument {
        try split(argument, prefix: "to:")
    }
    static func split(_ argument: String, prefix: String) throws(PathSyntaxError) -> PathArgument {
        guard argument.lowercased().hasPrefix(prefix) else { throw PathSyntaxError("Syntax error in command") }
        let rest = argument.dropFirst(prefix.count).drop(while: { $0 == " " })
        let words = rest.split(separator: " ")
        guard let first = words.first else { return PathArgument(path: nil, parameters: []) }
        let params = words.dropFirst().map { w -> ESMTPParameter in
            let kv = w.split(separator: "=", maxSplits: 1)
            return ESMTPParameter(keyword: String(kv[0]), value: kv.count > 1 ? String(kv[1]) : nil)
        }
        return PathArgument(path: String(first), parameters: params)
    }
    public static func parseReversePath(_ path: String) throws(PathSyntaxError) -> ReversePath {
        if path == "<>" || path == "<#@[]>" { return .null }
        return .mailbox(try parseForwardPath(path))
    }
    public static func parseForwardPath(_ path: String) throws(PathSyntaxError) -> Mailbox {
        guard path.hasPrefix("<"), path.hasSuffix(">"), path.count > 2 else { throw PathSyntaxError("missing delimiters") }
        let inner = path.dropFirst().dropLast()
        guard let at = inner.lastIndex(of: "@") else {
            if inner.lowercased() == "postmaster" { return Mailbox(localPart: "postmaster", domain: "") }
            throw PathSyntaxError("invalid address")
        }
        return Mailbox(localPart: String(inner[..<at]), domain: String(inner[inner.index(after: at)...]))
    }
}
