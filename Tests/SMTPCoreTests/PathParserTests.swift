import SMTPCore
import Testing

/// Runs a throwing parse and keeps its outcome as a value, so vectors can compare both ways.
private func outcome<T>(_ body: () throws(PathSyntaxError) -> T) -> Result<T, PathSyntaxError> {
    do { return .success(try body()) } catch { return .failure(error) }
}

private func parameter(_ keyword: String, _ value: String? = nil) -> ESMTPParameter {
    ESMTPParameter(keyword: keyword, value: value)
}

// MARK: - Splitting the argument (qpsmtpd's default parser)

struct SplitVector: Sendable, CustomTestStringConvertible {
    enum Verb: Sendable { case mail, rcpt }
    var verb: Verb
    var argument: String
    var expected: Result<PathArgument, PathSyntaxError>

    var testDescription: String { "\(verb == .mail ? "MAIL" : "RCPT") \(argument.debugDescription)" }

    static func mail(_ argument: String, _ path: String?, _ parameters: [ESMTPParameter] = []) -> Self {
        Self(verb: .mail, argument: argument, expected: .success(PathArgument(path: path, parameters: parameters)))
    }
    static func rcpt(_ argument: String, _ path: String?, _ parameters: [ESMTPParameter] = []) -> Self {
        Self(verb: .rcpt, argument: argument, expected: .success(PathArgument(path: path, parameters: parameters)))
    }
    static func mail(_ argument: String, error: String) -> Self {
        Self(verb: .mail, argument: argument, expected: .failure(PathSyntaxError(error)))
    }
    static func rcpt(_ argument: String, error: String) -> Self {
        Self(verb: .rcpt, argument: argument, expected: .failure(PathSyntaxError(error)))
    }
}

let splitVectors: [SplitVector] = [
    .mail("FROM:<a@b.example>", "<a@b.example>"),
    .mail("from:<a@b.example>", "<a@b.example>"),
    .mail("FrOm: <a@b.example>", "<a@b.example>"),
    .mail("FROM:   <a@b.example>   ", "<a@b.example>"),
    .mail("FROM:\t<a@b.example>", "<a@b.example>"),
    .mail("FROM :<a@b.example>", error: "Syntax error in command"),
    .mail("FROM<a@b.example>", error: "Syntax error in command"),
    .mail("TO:<a@b.example>", error: "Syntax error in command"),
    .mail("", error: "Syntax error in command"),
    .mail("FROM:<a@b.example> SIZE=123", "<a@b.example>", [parameter("SIZE", "123")]),
    .mail(
        "FROM:<a@b.example> SIZE=123 BODY=8BITMIME", "<a@b.example>",
        [parameter("SIZE", "123"), parameter("BODY", "8BITMIME")]
    ),
    .mail("FROM:<a@b.example> body=8bitmime", "<a@b.example>", [parameter("BODY", "8bitmime")]),
    .mail("FROM:<a@b.example> SMTPUTF8", "<a@b.example>", [parameter("SMTPUTF8")]),
    .mail("FROM:<a@b.example>\tSIZE=1", "<a@b.example>", [parameter("SIZE", "1")]),
    .mail("FROM:<a@b.example>   SIZE=1   ", "<a@b.example>", [parameter("SIZE", "1")]),
    .mail("FROM:<a@b.example> AUTH=<>", "<a@b.example>", [parameter("AUTH", "<>")]),
    .mail("FROM:<a@b.example> X-Y-Z=1", "<a@b.example>", [parameter("X-Y-Z", "1")]),
    // qpsmtpd checks keyword syntax only, so stray words become value-less parameters.
    .mail("FROM:<a@b.example> SIZE=10 junk here", "<a@b.example>", [parameter("SIZE", "10"), parameter("JUNK"), parameter("HERE")]),
    .mail("FROM:<a@b.example> =bad", error: "Syntax error in parameters"),
    .mail("FROM:<a@b.example> -bad=1", error: "Syntax error in parameters"),
    .mail("FROM:<a@b.example> SIZE=1=2", error: "Syntax error in parameters"),
    .mail("FROM:<a@b.example> SIZE=", error: "Syntax error in parameters"),
    .mail("FROM:<a@b.example> SI_ZE=1", error: "Syntax error in parameters"),
    .mail("FROM:<a@b.example> <c@d.example>", error: "Syntax error in parameters"),
    .mail("FROM:", nil),
    .mail("FROM:    ", nil),
    .mail("FROM:<>", "<>"),
    .mail("FROM:<> SIZE=100", "<>", [parameter("SIZE", "100")]),
    // Left for the address grammar (or dont_require_anglebrackets) to judge.
    .mail("FROM:<a b@c.example>", "<a b@c.example>"),
    .mail("FROM:user@example.com", "user@example.com"),
    .mail("FROM:<a@b.example>SIZE=1", "<a@b.example>SIZE=1"),
    .mail("FROM:<\"a b\"@c.example> SIZE=5", "<\"a b\"@c.example>", [parameter("SIZE", "5")]),
    .rcpt("TO:<a@b.example>", "<a@b.example>"),
    .rcpt("to: <postmaster>", "<postmaster>"),
    .rcpt("TO:postmaster", "postmaster"),
    .rcpt(
        "To:<a@b.example> NOTIFY=NEVER ORCPT=rfc822;a@b.example", "<a@b.example>",
        [parameter("NOTIFY", "NEVER"), parameter("ORCPT", "rfc822;a@b.example")]
    ),
    .rcpt("TO:", nil),
    .rcpt("FROM:<a@b.example>", error: "Syntax error in command"),
    .rcpt("TO :<a@b.example>", error: "Syntax error in command"),
    .rcpt("TO:<u@example.test >", error: "Syntax error in parameters"),
]

@Test(arguments: splitVectors)
func splitArgument(_ vector: SplitVector) {
    let result = outcome { () throws(PathSyntaxError) -> PathArgument in
        switch vector.verb {
        case .mail: try PathParser.splitMailArgument(vector.argument)
        case .rcpt: try PathParser.splitRcptArgument(vector.argument)
        }
    }
    #expect(result == vector.expected)
}

// MARK: - The path grammar (RFC 5321 §4.1.2)

struct PathVector: Sendable, CustomTestStringConvertible {
    enum Verb: Sendable { case mail, rcpt }
    enum Expected: Sendable, Equatable {
        case null
        /// Local part (unquoted), domain, and the re-quoted `formatted` form.
        case mailbox(String, String, formatted: String)
        /// The detail after "Syntax error in address: ".
        case invalid(String)
    }
    var verb: Verb
    var path: String
    var expected: Expected

    var testDescription: String { "\(verb == .mail ? "MAIL" : "RCPT") \(path.debugDescription)" }

    static func mail(_ path: String, _ expected: Expected) -> Self { Self(verb: .mail, path: path, expected: expected) }
    static func rcpt(_ path: String, _ expected: Expected) -> Self { Self(verb: .rcpt, path: path, expected: expected) }
}

private let local64 = String(repeating: "l", count: 64)
/// 63 + 1 + 63 + 1 + 61 octets: with a 64-octet local part, "@" and brackets the path is exactly 256.
private let domain189 = [String(repeating: "a", count: 63), String(repeating: "b", count: 63), String(repeating: "c", count: 61)]
    .joined(separator: ".")

let pathVectors: [PathVector] = [
    // Null reverse paths, including qmail's and broken mailers' spellings.
    .mail("<>", .null),
    .mail("<#@[]>", .null),
    .mail("<[undefined]>", .null),
    .mail("<foo@[undefined]>", .null),
    .rcpt("<>", .invalid("the null path is not a recipient")),
    .rcpt("<#@[]>", .invalid("bad address literal")),

    // Plain mailboxes; the domain keeps its case.
    .mail("<a@example.com>", .mailbox("a", "example.com", formatted: "<a@example.com>")),
    .rcpt("<Foo.Bar@Example.COM>", .mailbox("Foo.Bar", "Example.COM", formatted: "<Foo.Bar@Example.COM>")),
    .rcpt("<a+tag@example.com>", .mailbox("a+tag", "example.com", formatted: "<a+tag@example.com>")),
    .rcpt("<!#$%&'*+-/=?^_`{|}~@x.example>", .mailbox("!#$%&'*+-/=?^_`{|}~", "x.example", formatted: "<!#$%&'*+-/=?^_`{|}~@x.example>")),
    .rcpt("<u@localhost>", .mailbox("u", "localhost", formatted: "<u@localhost>")),
    .rcpt("<u@ex--ample.com>", .mailbox("u", "ex--ample.com", formatted: "<u@ex--ample.com>")),
    .rcpt("<u@123.example>", .mailbox("u", "123.example", formatted: "<u@123.example>")),

    // Bare postmaster is a recipient only (RFC 5321 §4.1.1.3); qpsmtpd also takes it as a sender.
    .rcpt("<postmaster>", .mailbox("postmaster", "", formatted: "<postmaster>")),
    .rcpt("<PostMaster>", .mailbox("postmaster", "", formatted: "<postmaster>")),
    .mail("<postmaster>", .invalid("missing domain")),
    .rcpt("<abuse>", .invalid("missing domain")),

    // Angle brackets.
    .mail("a@b.example", .invalid("missing angle brackets")),
    .mail("<a@b.example", .invalid("missing angle brackets")),
    .rcpt("a@b.example>", .invalid("missing angle brackets")),
    .rcpt("<", .invalid("missing angle brackets")),
    .rcpt("<a@b.example> ", .invalid("missing angle brackets")),

    // Source routes are checked and dropped.
    .rcpt("<@relay.example:u@example.com>", .mailbox("u", "example.com", formatted: "<u@example.com>")),
    .mail("<@a.example,@b.example:u@c.example>", .mailbox("u", "c.example", formatted: "<u@c.example>")),
    .rcpt("<@a.example u@c.example>", .invalid("bad source route")),
    .rcpt("<@a.example,b.example:u@c.example>", .invalid("bad source route")),
    .rcpt("<@a_b:u@c.example>", .invalid("bad source route")),
    .rcpt("<@a.example:>", .invalid("bad local part")),

    // Quoted local parts are unquoted, and re-quoted by `formatted` with every special escaped.
    .rcpt("<\"a b\"@x.example>", .mailbox("a b", "x.example", formatted: "<\"a\\ b\"@x.example>")),
    .mail("<\"foo bar\"@example.com>", .mailbox("foo bar", "example.com", formatted: "<\"foo\\ bar\"@example.com>")),
    .rcpt("<\"a@b\"@c.example>", .mailbox("a@b", "c.example", formatted: "<\"a\\@b\"@c.example>")),
    .rcpt("<\"a\\\"b\"@x.example>", .mailbox("a\"b", "x.example", formatted: "<\"a\\\"b\"@x.example>")),
    .rcpt("<\"a\\\\b\"@x.example>", .mailbox("a\\b", "x.example", formatted: "<\"a\\\\b\"@x.example>")),
    .rcpt("<\"\\a\"@x.example>", .mailbox("a", "x.example", formatted: "<a@x.example>")),
    .rcpt("<\"ab\"@x.example>", .mailbox("ab", "x.example", formatted: "<ab@x.example>")),
    .rcpt("<\"\"@x.example>", .invalid("empty local part")),
    .rcpt("<\"abc@x.example>", .invalid("unterminated quoted local part")),
    .rcpt("<\"a\"b@x.example>", .invalid("bad local part")),
    .rcpt("<\"a\tb\"@x.example>", .invalid("control characters are not allowed")),

    // Dot-strings: no leading, trailing or double dot, no space.
    .rcpt("<a.b.c@x.example>", .mailbox("a.b.c", "x.example", formatted: "<a.b.c@x.example>")),
    .rcpt("<a..b@x.example>", .invalid("bad local part: misplaced dot")),
    .rcpt("<.a@x.example>", .invalid("bad local part")),
    .rcpt("<a.@x.example>", .invalid("bad local part: misplaced dot")),
    .mail("<a b@x.example>", .invalid("bad local part")),
    .rcpt("<a\"b@x.example>", .invalid("bad local part")),
    .rcpt("<a@b@c.example>", .invalid("bad domain")),
    .rcpt("<@x.example>", .invalid("bad source route")),
    .rcpt("<u>", .invalid("missing domain")),
    .rcpt("<u@>", .invalid("missing domain")),

    // Hostnames: only dots separate labels; labels start and end with a letter or digit.
    .rcpt("<u@example_test>", .invalid("bad domain")),
    .rcpt("<u@a!b>", .invalid("bad domain")),
    .rcpt("<u@example.com.>", .invalid("bad domain")),
    .rcpt("<u@.example.com>", .invalid("bad domain")),
    .rcpt("<u@-example.com>", .invalid("bad domain")),
    .rcpt("<u@example-.com>", .invalid("bad domain")),
    .rcpt("<u@exa mple.com>", .invalid("bad domain")),
    .rcpt("<u@\(String(repeating: "a", count: 64)).example>", .invalid("bad domain")),

    // IPv4 literals, range-checked.
    .rcpt("<u@[192.0.2.1]>", .mailbox("u", "[192.0.2.1]", formatted: "<u@[192.0.2.1]>")),
    .mail("<u@[255.255.255.255]>", .mailbox("u", "[255.255.255.255]", formatted: "<u@[255.255.255.255]>")),
    .rcpt("<u@[300.1.1.1]>", .invalid("bad IPv4 address literal")),
    .rcpt("<u@[1.2.3.256]>", .invalid("bad IPv4 address literal")),
    .rcpt("<u@[1.2.3]>", .invalid("bad IPv4 address literal")),
    .rcpt("<u@[1.2.3.4.5]>", .invalid("bad IPv4 address literal")),
    .rcpt("<u@[0001.1.1.1]>", .invalid("bad IPv4 address literal")),
    .rcpt("<u@[1..2.3]>", .invalid("bad IPv4 address literal")),
    .rcpt("<u@[192.0.2.1>", .invalid("bad address literal")),

    // IPv6 literals.
    .rcpt("<u@[IPv6:2001:db8::1]>", .mailbox("u", "[IPv6:2001:db8::1]", formatted: "<u@[IPv6:2001:db8::1]>")),
    .rcpt("<u@[ipv6:::1]>", .mailbox("u", "[ipv6:::1]", formatted: "<u@[ipv6:::1]>")),
    .rcpt("<u@[IPv6:1:2:3:4:5:6:7:8]>", .mailbox("u", "[IPv6:1:2:3:4:5:6:7:8]", formatted: "<u@[IPv6:1:2:3:4:5:6:7:8]>")),
    .rcpt("<u@[IPv6:::ffff:192.0.2.1]>", .mailbox("u", "[IPv6:::ffff:192.0.2.1]", formatted: "<u@[IPv6:::ffff:192.0.2.1]>")),
    .rcpt("<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>", .mailbox("u", "[IPv6:1:2:3:4:5:6:192.0.2.1]", formatted: "<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>")),
    .rcpt("<u@[IPv6:1:2:3:4:5:6:7]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:1:2:3:4:5:6:7:8:9]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:1:2:3::4:5:6:7]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:1::2::3]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:12345::1]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:g::1]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6::1]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:::ffff:300.0.2.1]>", .invalid("bad IPv6 address literal")),
    .rcpt("<u@[IPv6:192.0.2.1::1]>", .invalid("bad IPv6 address literal")),

    // Other literals.
    .rcpt("<u@[x-tag:content]>", .invalid("unsupported address literal")),
    .rcpt("<u@[foo]>", .invalid("bad address literal")),
    .rcpt("<u@[]>", .invalid("bad address literal")),

    // Lengths (RFC 5321 §4.5.3.1), counted as written.
    .rcpt("<\(local64)@x.example>", .mailbox(local64, "x.example", formatted: "<\(local64)@x.example>")),
    .rcpt("<\(local64)l@x.example>", .invalid("local part longer than 64 octets")),
    .rcpt("<\"\(local64.dropFirst(2))\"@x.example>", .mailbox(String(local64.dropFirst(2)), "x.example", formatted: "<\(local64.dropFirst(2))@x.example>")),
    .rcpt("<\"\(local64.dropFirst())\"@x.example>", .invalid("local part longer than 64 octets")),
    .mail("<\(local64)@\(domain189)>", .mailbox(local64, domain189, formatted: "<\(local64)@\(domain189)>")),
    .mail("<\(local64)@\(domain189)c>", .invalid("path longer than 256 octets")),

    // Not ASCII, or not printable.
    .rcpt("<pöstmaster@x.example>", .invalid("non-ASCII characters are not allowed")),
    .rcpt("<u@exämple.com>", .invalid("non-ASCII characters are not allowed")),
    .rcpt("<a\u{0}b@x.example>", .invalid("control characters are not allowed")),
    .mail("<a\u{7F}b@x.example>", .invalid("control characters are not allowed")),
]

@Test(arguments: pathVectors)
func parsePath(_ vector: PathVector) {
    let result: Result<ReversePath, PathSyntaxError> =
        switch vector.verb {
        case .mail: outcome { () throws(PathSyntaxError) -> ReversePath in try PathParser.parseReversePath(vector.path) }
        case .rcpt: outcome { () throws(PathSyntaxError) -> ReversePath in .mailbox(try PathParser.parseForwardPath(vector.path)) }
        }
    switch (result, vector.expected) {
    case (.success(.null), .null):
        break
    case (.success(.mailbox(let mailbox)), .mailbox(let localPart, let domain, let formatted)):
        #expect(mailbox.localPart == localPart)
        #expect(mailbox.domain == domain)
        #expect(mailbox.formatted == formatted)
    case (.failure(let error), .invalid(let detail)):
        #expect(error.message == "Syntax error in address: \(detail)")
    default:
        Issue.record("got \(result), expected \(vector.expected)")
    }
}

/// What `formatted` writes must parse back to the same mailbox, or a plugin that echoes it breaks.
@Test(arguments: pathVectors.filter { if case .mailbox(_, let domain, _) = $0.expected { !domain.isEmpty } else { false } })
func formattedPathParsesBack(_ vector: PathVector) throws {
    let mailbox = try PathParser.parseForwardPath(vector.path)
    #expect(try PathParser.parseForwardPath(mailbox.formatted) == mailbox)
}

@Test func formattedQuotesMisplacedDots() throws {
    let mailbox = Mailbox(localPart: "a..b", domain: "x.example")
    // qpsmtpd's format() treats "." as safe anywhere; we quote a local part that is not a dot-string.
    #expect(try PathParser.parseForwardPath(mailbox.formatted) == mailbox)
}

@Test func mailboxAddressHasNoQuoting() throws {
    let mailbox = try PathParser.parseForwardPath("<\"a b\"@x.example>")
    #expect(mailbox.address == "a b@x.example")
    #expect(try PathParser.parseForwardPath("<postmaster>").address == "postmaster")
    #expect(try PathParser.parseReversePath("<>").address == "")
}

@Test func splitThenParse() throws {
    let argument = try PathParser.splitMailArgument("FROM:<@relay.example:Joe.User@Example.ORG> SIZE=2048 BODY=8BITMIME")
    #expect(argument.parameters.value(of: "size") == .some("2048"))
    #expect(argument.parameters.value(of: "Body") == .some("8BITMIME"))
    #expect(argument.parameters.value(of: "AUTH") == nil)
    let sender = try PathParser.parseReversePath(try #require(argument.path))
    #expect(sender == .mailbox(Mailbox(localPart: "Joe.User", domain: "Example.ORG")))
}
