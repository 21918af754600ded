import SMTPCore
import Testing

struct ReplyWireVector: Sendable, CustomTestStringConvertible {
    var reply: SMTPReply
    var wire: String
    var testDescription: String { wire.debugDescription }
}

let replyWireVectors: [ReplyWireVector] = [
    .init(reply: SMTPReply(250, nil, "OK"), wire: "250 OK\r\n"),
    .init(reply: SMTPReply(code: 250, lines: ["a", "b"]), wire: "250-a\r\n250 b\r\n"),
    .init(reply: SMTPReply(code: 250, enhancedCode: .ok, lines: ["a", "b"]), wire: "250-2.0.0 a\r\n250 2.0.0 b\r\n"),
    .init(reply: SMTPReply(550, .deliveryNotAuthorized, "Relaying denied"), wire: "550 5.7.1 Relaying denied\r\n"),
    // The class digit always follows the reply code (RFC 3463 §2).
    .init(reply: SMTPReply(450, .deliveryNotAuthorized, "try later"), wire: "450 4.7.1 try later\r\n"),
    .init(reply: SMTPReply(250, nil, "first\nsecond\nthird"), wire: "250-first\r\n250-second\r\n250 third\r\n"),
    .init(reply: SMTPReply(code: 354, lines: []), wire: "354 \r\n"),
    .init(reply: SMTPReply(221, nil, "bye\r"), wire: "221 bye\r\n"),
    .init(reply: SMTPReply(501, nil, "a\u{0}b\u{7F}c\u{1B}d\te"), wire: "501 abcd\te\r\n"),
    .init(reply: SMTPReply(599, nil, "x"), wire: "599 x\r\n"),
]

@Test(arguments: replyWireVectors)
func replyWireForm(_ vector: ReplyWireVector) {
    #expect(vector.reply.wireString == vector.wire)
}

struct PluginTextVector: Sendable, CustomTestStringConvertible {
    var code: Int
    var defaultEnhanced: EnhancedStatusCode?
    var text: String
    var enhanced: EnhancedStatusCode?
    var lines: [String]
    var testDescription: String { "\(code) \(text.debugDescription)" }
}

let pluginTextVectors: [PluginTextVector] = [
    .init(code: 550, defaultEnhanced: .syntaxError, text: "5.7.1 Relaying denied", enhanced: .deliveryNotAuthorized, lines: ["Relaying denied"]),
    .init(code: 550, defaultEnhanced: nil, text: "5.7.1 Relaying denied", enhanced: .deliveryNotAuthorized, lines: ["Relaying denied"]),
    // A 5.x.x prefix on a 4xx reply is just text: the plugin's code does not match the reply's class.
    // A plugin's own code in the wrong class: its subject and detail, the reply's class, never
    // a 4xx carrying 5.x.x (this once went out as "450 4.3.2 5.7.1 Relaying denied").
    .init(code: 450, defaultEnhanced: .systemNotAccepting, text: "5.7.1 Relaying denied", enhanced: EnhancedStatusCode(4, 7, 1), lines: ["Relaying denied"]),
    .init(code: 450, defaultEnhanced: nil, text: "5.7.1 Relaying denied", enhanced: EnhancedStatusCode(4, 7, 1), lines: ["Relaying denied"]),
    .init(code: 550, defaultEnhanced: nil, text: "4.2.2 Mailbox full", enhanced: EnhancedStatusCode(5, 2, 2), lines: ["Mailbox full"]),
    .init(code: 550, defaultEnhanced: .securityOther, text: "No such user", enhanced: .securityOther, lines: ["No such user"]),
    .init(code: 550, defaultEnhanced: nil, text: "No such user", enhanced: nil, lines: ["No such user"]),
    .init(code: 250, defaultEnhanced: .ok, text: "2.1.5 fine", enhanced: .destinationOK, lines: ["fine"]),
    .init(code: 550, defaultEnhanced: nil, text: "5.7.1", enhanced: .deliveryNotAuthorized, lines: [""]),
    // Only the first line may carry the plugin's code.
    .init(code: 554, defaultEnhanced: nil, text: "5.7.1 one\n5.7.2 two", enhanced: .deliveryNotAuthorized, lines: ["one", "5.7.2 two"]),
    .init(code: 550, defaultEnhanced: .contentError, text: "5.7 not a code", enhanced: .contentError, lines: ["5.7 not a code"]),
    .init(code: 550, defaultEnhanced: nil, text: "one\ntwo\u{7}", enhanced: nil, lines: ["one", "two"]),
]

@Test(arguments: pluginTextVectors)
func replyFromPluginText(_ vector: PluginTextVector) {
    let reply = SMTPReply(code: vector.code, defaultEnhanced: vector.defaultEnhanced, text: vector.text)
    #expect(reply.code == vector.code)
    #expect(reply.enhancedCode == vector.enhanced)
    #expect(reply.lines == vector.lines)
}

@Test func crlfInPluginTextSplitsLines() {
    // In Swift "\r\n" is one Character, so splitting on the Character "\n" misses it and the
    // control-character filter then glues the two lines together.
    #expect(SMTPReply(250, nil, "a\r\nb").lines == ["a", "b"])
}

@Test func pluginCodeIsWrittenOnEveryLine() {
    let reply = SMTPReply(code: 550, defaultEnhanced: .syntaxError, text: "5.7.1 denied\nsee policy")
    #expect(reply.wireString == "550-5.7.1 denied\r\n550 5.7.1 see policy\r\n")
}

@Test func replyClassification() {
    #expect(SMTPReply(250, nil, "x").isPositive)
    #expect(SMTPReply(354, nil, "x").isPositive)
    #expect(SMTPReply(421, nil, "x").isTransientFailure)
    #expect(!SMTPReply(421, nil, "x").isPositive)
    #expect(SMTPReply(554, nil, "x").isPermanentFailure)
    #expect(SMTPReply(code: 550, enhancedCode: .deliveryNotAuthorized, lines: ["a", "b"]).description == "550 5.7.1 a b")
}

struct EnhancedSplitVector: Sendable, CustomTestStringConvertible {
    var text: String
    var expected: (code: EnhancedStatusCode, rest: String)?
    var testDescription: String { text.debugDescription }
}

let enhancedSplitVectors: [EnhancedSplitVector] = [
    .init(text: "5.7.1 text here", expected: (EnhancedStatusCode(5, 7, 1), "text here")),
    .init(text: "4.4.2 ", expected: (EnhancedStatusCode(4, 4, 2), "")),
    .init(text: "2.0.0", expected: (EnhancedStatusCode(2, 0, 0), "")),
    .init(text: "5.999.999 max", expected: (EnhancedStatusCode(5, 999, 999), "max")),
    .init(text: "5.1.1  two spaces", expected: (EnhancedStatusCode(5, 1, 1), " two spaces")),
    .init(text: "3.0.0 no such class", expected: nil),
    .init(text: "6.0.0 no such class", expected: nil),
    .init(text: "5.1 short", expected: nil),
    .init(text: "5.1.1.1 long", expected: nil),
    .init(text: "5.1000.1 wide", expected: nil),
    .init(text: "5.1.1000 wide", expected: nil),
    .init(text: "5.-1.1 negative", expected: nil),
    .init(text: "5..1 empty", expected: nil),
    .init(text: "5.7.1text", expected: nil),
    .init(text: "x.y.z", expected: nil),
    .init(text: "", expected: nil),
    .init(text: "Relaying denied", expected: nil),
]

@Test(arguments: enhancedSplitVectors)
func enhancedStatusCodeSplit(_ vector: EnhancedSplitVector) {
    let result = EnhancedStatusCode.split(leadingCodeOf: Substring(vector.text))
    #expect(result?.0 == vector.expected?.code)
    #expect(result.map { String($0.1) } == vector.expected?.rest)
}

@Test func enhancedStatusCodeSplitWantsDigitsOnly() {
    // RFC 3463 §2: subject and detail are 1*3digit; Int("+1") parses, so a sign slips through.
    #expect(EnhancedStatusCode.split(leadingCodeOf: "5.+1.1 signed") == nil)
}

@Test func enhancedStatusCodeMatchingReplyCode() {
    #expect(EnhancedStatusCode.deliveryNotAuthorized.matching(replyCode: 451) == EnhancedStatusCode(4, 7, 1))
    #expect(EnhancedStatusCode.ok.matching(replyCode: 250) == .ok)
    #expect(EnhancedStatusCode(5, 1, 3).description == "5.1.3")
}
