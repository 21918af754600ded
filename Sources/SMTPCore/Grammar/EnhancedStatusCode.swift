/// An RFC 3463 enhanced mail system status code, `class.subject.detail`.
///
/// RFC 2034 asks a server that advertises ENHANCEDSTATUSCODES to put one of these
/// in front of the text of every 2xx, 4xx and 5xx reply (but not the greeting,
/// the HELO/EHLO reply or intermediate 3xx replies).
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// The same subject and detail, with the class that a reply code implies.
    /// RFC 3463 §2: the class digit must agree with the reply's first digit.
    public func matching(replyCode: Int) -> EnhancedStatusCode {
        var copy = self
        copy.statusClass = replyCode / 100
        return copy
    }

    /// Parses a leading `X.Y.Z ` from a reply text, as plugins may write one themselves.
    /// Returns the code and the remaining text, or nil if the text does not start with one.
    public static func split(leadingCodeOf text: Substring) -> (EnhancedStatusCode, Substring)? {
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard let head = parts.first else { return nil }
        let numbers = head.split(separator: ".", omittingEmptySubsequences: false)
        // RFC 3463 §2: digits only (Int() alone would take a sign).
        guard numbers.count == 3, numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let c = Int(numbers[0]), [2, 4, 5].contains(c),
            let s = Int(numbers[1]), (0...999).contains(s), numbers[1].count <= 3,
            let d = Int(numbers[2]), (0...999).contains(d), numbers[2].count <= 3
        else { return nil }
        return (EnhancedStatusCode(c, s, d), parts.count > 1 ? parts[1] : "")
    }
}

extension EnhancedStatusCode {
    public static let ok = EnhancedStatusCode(2, 0, 0)
    public static let otherAddressStatus = EnhancedStatusCode(2, 1, 0)
    public static let senderOK = EnhancedStatusCode(2, 1, 0)
    public static let destinationOK = EnhancedStatusCode(2, 1, 5)
    public static let badDestinationMailbox = EnhancedStatusCode(5, 1, 1)
    public static let badDestinationSyntax = EnhancedStatusCode(5, 1, 3)
    public static let badSenderSyntax = EnhancedStatusCode(5, 1, 7)
    public static let mailboxFull = EnhancedStatusCode(4, 2, 2)
    public static let messageTooBig = EnhancedStatusCode(5, 3, 4)
    public static let systemNotAccepting = EnhancedStatusCode(4, 3, 2)
    public static let otherSystem = EnhancedStatusCode(4, 3, 0)
    public static let networkOther = EnhancedStatusCode(4, 4, 0)
    public static let connectionTimedOut = EnhancedStatusCode(4, 4, 2)
    public static let invalidCommand = EnhancedStatusCode(5, 5, 1)
    public static let syntaxError = EnhancedStatusCode(5, 5, 2)
    public static let tooManyRecipients = EnhancedStatusCode(4, 5, 3)
    public static let invalidArguments = EnhancedStatusCode(5, 5, 4)
    public static let wrongProtocolVersion = EnhancedStatusCode(5, 5, 0)
    public static let contentError = EnhancedStatusCode(5, 6, 0)
    public static let securityOther = EnhancedStatusCode(5, 7, 0)
    public static let deliveryNotAuthorized = EnhancedStatusCode(5, 7, 1)
}
