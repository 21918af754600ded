/// A mailbox as it appears in MAIL FROM / RCPT TO: a local part and a domain
/// (empty only for the bare `postmaster` recipient of RFC 5321 §4.1.1.3).
///
/// Parsing lives in `PathParser.swift`; this file holds the value and its wire form.
public struct Mailbox: Hashable, Sendable, CustomStringConvertible {
    /// The local part, unquoted (`"a b"@x` is stored as `a b`).
    public var localPart: String
    /// The domain, an address literal such as `[192.0.2.1]`, or empty for bare `postmaster`.
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// `local@domain` without brackets or quoting, as queue backends want it (qpsmtpd's `address()`).
    public var address: String { domain.isEmpty ? localPart : "\(localPart)@\(domain)" }

    /// `local@domain` with the local part quoted where RFC 5321 needs it (`"a b"@x`): the address
    /// as it must be written in a header such as Delivered-To, where `address` would lose the quoting.
    public var quotedAddress: String { domain.isEmpty ? quotedLocalPart : "\(quotedLocalPart)@\(domain)" }

    /// The path form, `<local@domain>`, with the local part re-quoted when it needs to be
    /// (qpsmtpd's `format()`): any character outside dot-atom text is backslash-escaped inside quotes.
    public var formatted: String { "<\(quotedLocalPart)\(domain.isEmpty ? "" : "@" + domain)>" }

    public var description: String { formatted }

    public var quotedLocalPart: String {
        // Dot-string (RFC 5321 §4.1.2): atext, with single dots only between atoms.
        let isDotString = !localPart.isEmpty && !localPart.hasPrefix(".") && !localPart.hasSuffix(".")
            && !localPart.contains("..") && localPart.unicodeScalars.allSatisfy(Mailbox.isDotAtomText)
        if isDotString { return localPart }
        var out = "\""
        for scalar in localPart.unicodeScalars {
            if !Mailbox.isDotAtomText(scalar) { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        out.append("\"")
        return out
    }

    static func isDotAtomText(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~", ".":
            return true
        default: return false
        }
    }
}

/// MAIL FROM's argument: the null sender `<>` or a mailbox.
public enum ReversePath: Hashable, Sendable, CustomStringConvertible {
    case null
    case mailbox(Mailbox)

    public var mailbox: Mailbox? {
        if case .mailbox(let m) = self { return m }
        return nil
    }

    public var formatted: String { mailbox?.formatted ?? "<>" }
    /// Without brackets; empty for the null sender.
    public var address: String { mailbox?.address ?? "" }
    public var description: String { formatted }
}

/// An ESMTP parameter on MAIL or RCPT (`SIZE=1000`, `BODY=8BITMIME`). Keywords are case-insensitive
/// and stored uppercased; a keyword without `=` has a nil value.
public struct ESMTPParameter: Hashable, Sendable {
    public var keyword: String
    public var value: String?

    public init(keyword: String, value: String?) {
        self.keyword = keyword.uppercased()
        self.value = value
    }
}

extension Array where Element == ESMTPParameter {
    /// The value of the first parameter with this keyword (case-insensitive); `.some(nil)` when it has no value.
    public func value(of keyword: String) -> String?? {
        let key = keyword.uppercased()
        return first(where: { $0.keyword == key }).map(\.value)
    }
}
