import SMTPCore
import Testing

/// The state machine as a table: every command in every state, then the events and the reading
/// modes they lead to (in the manner of swift-nio-imap's client state machine tests).
@Suite struct SMTPSessionMachineTests {
    /// The states a session can be in when a command line arrives, and a few on either side.
    enum Situation: String, CaseIterable, CustomStringConvertible {
        case greeting, fresh, afterHelo, afterEhlo, afterEhloTLS, authenticated
        case senderGiven, recipientGiven, recipientsFull
        case receivingMessage, saslExchange, tlsPending, closing
        var description: String { rawValue }
    }

    static let offer = SMTPSessionMachine.Offer(startTLS: true, auth: true, tlsBeforeAuth: false, maxRecipients: 2)

    static func machine(_ situation: Situation, offer: SMTPSessionMachine.Offer = offer) -> SMTPSessionMachine {
        var m = SMTPSessionMachine(offer: offer)
        let steps: [SMTPSessionMachine.Event]
        switch situation {
        case .greeting: steps = []
        case .fresh: steps = [.greeted(accepted: true)]
        case .afterHelo: steps = [.greeted(accepted: true), .helloAccepted(.helo)]
        case .afterEhlo: steps = [.greeted(accepted: true), .helloAccepted(.ehlo)]
        case .afterEhloTLS: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .tlsStarting, .tlsEstablished, .helloAccepted(.ehlo)]
        case .authenticated: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .saslPrompted, .saslFinished(authenticated: true)]
        case .senderGiven: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .senderAccepted]
        case .recipientGiven: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .senderAccepted, .recipientAccepted]
        case .recipientsFull: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .senderAccepted, .recipientAccepted, .recipientAccepted]
        case .receivingMessage: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .senderAccepted, .recipientAccepted, .messageStarted]
        case .saslExchange: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .saslPrompted]
        case .tlsPending: steps = [.greeted(accepted: true), .helloAccepted(.ehlo), .tlsStarting]
        case .closing: steps = [.greeted(accepted: true), .closing]
        }
        for step in steps { m.apply(step) }
        return m
    }

    /// What `check` answers: "go" for proceed, "?" for unrecognized, else the refusal's code.
    static func outcome(_ verdict: SMTPSessionMachine.Verdict) -> String {
        switch verdict {
        case .proceed: return "go"
        case .unrecognized: return "?"
        case .refuse(let reply): return String(reply.code)
        }
    }

    /// Rows: situation; columns: HELO x, EHLO x, MAIL, RCPT, DATA, RSET, NOOP, VRFY, HELP, QUIT,
    /// STARTTLS, AUTH, and an unknown verb.
    static let table: [Situation: [String]] = [
        //                  helo  ehlo  mail   rcpt   data   rset  noop  vrfy  help  quit  stls   auth   xyzzy
        .greeting:         ["503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503"],
        .fresh:            ["go", "go", "503", "503", "503", "go", "go", "go", "go", "go", "go", "503", "?"],
        .afterHelo:        ["go", "go", "go", "503", "503", "go", "go", "go", "go", "go", "go", "503", "?"],
        .afterEhlo:        ["go", "go", "go", "503", "503", "go", "go", "go", "go", "go", "go", "go", "?"],
        .afterEhloTLS:     ["go", "go", "go", "503", "503", "go", "go", "go", "go", "go", "503", "go", "?"],
        .authenticated:    ["go", "go", "go", "503", "503", "go", "go", "go", "go", "go", "go", "503", "?"],
        .senderGiven:      ["go", "go", "go", "go", "503", "go", "go", "go", "go", "go", "go", "503", "?"],
        .recipientGiven:   ["go", "go", "go", "go", "go", "go", "go", "go", "go", "go", "go", "503", "?"],
        .recipientsFull:   ["go", "go", "go", "452", "go", "go", "go", "go", "go", "go", "go", "503", "?"],
        .receivingMessage: ["503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503"],
        .saslExchange:     ["503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503"],
        .tlsPending:       ["503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503"],
        .closing:          ["503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503", "503"],
    ]

    static let commands: [(SMTPVerb?, String)] = [
        (.helo, "client.example"), (.ehlo, "client.example"), (.mail, "FROM:<a@b.example>"), (.rcpt, "TO:<c@d.example>"),
        (.data, ""), (.rset, ""), (.noop, ""), (.vrfy, "x"), (.help, ""), (.quit, ""), (.starttls, ""), (.auth, "PLAIN"), (nil, ""),
    ]

    @Test(arguments: Situation.allCases)
    func everyCommandInEveryState(_ situation: Situation) throws {
        let expected = try #require(Self.table[situation])
        #expect(expected.count == Self.commands.count)
        let machine = Self.machine(situation)
        for ((verb, argument), want) in zip(Self.commands, expected) {
            let got = Self.outcome(machine.check(verb, argument: argument))
            #expect(got == want, "\(situation): \(verb?.rawValue ?? "xyzzy") \(argument) → \(got), expected \(want)")
        }
    }

    @Test func refusalTextsAreQpsmtpds() {
        let fresh = Self.machine(.fresh)
        #expect(fresh.check(.mail, argument: "FROM:<>") == .refuse(SMTPReply(503, .invalidCommand, "please say hello first ...")))
        #expect(fresh.check(.helo, argument: "") == .refuse(SMTPReply(501, .invalidArguments, "helo requires domain/address - see RFC-5321 4.1.1.1")))
        let helo = Self.machine(.afterHelo)
        #expect(helo.check(.auth, argument: "PLAIN") == .refuse(SMTPReply(503, .invalidCommand, "AUTH not defined for HELO")))
        #expect(helo.check(.rcpt, argument: "TO:<a@b>") == .refuse(SMTPReply(503, .invalidCommand, "Use MAIL before RCPT")))
        #expect(helo.check(.data, argument: "") == .refuse(SMTPReply(503, .invalidCommand, "MAIL first")))
        #expect(Self.machine(.senderGiven).check(.data, argument: "") == .refuse(SMTPReply(503, .invalidCommand, "RCPT first")))
        #expect(Self.machine(.recipientGiven).check(.data, argument: "x") == .refuse(SMTPReply(501, .invalidArguments, "Syntax error: DATA takes no arguments")))
        #expect(Self.machine(.senderGiven).check(.auth, argument: "PLAIN") == .refuse(SMTPReply(503, .invalidCommand, "AUTH is not allowed during a mail transaction")))
        #expect(Self.machine(.authenticated).check(.auth, argument: "PLAIN") == .refuse(SMTPReply(503, .invalidCommand, "but you already said AUTH ...")))
        #expect(Self.machine(.afterEhlo).check(.starttls, argument: "x") == .refuse(SMTPReply(501, .invalidArguments, "Syntax error (no parameters allowed)")))
        #expect(Self.machine(.afterEhloTLS).check(.starttls, argument: "") == .refuse(SMTPReply(503, .invalidCommand, "TLS already active")))
        #expect(Self.machine(.recipientsFull).check(.rcpt, argument: "TO:<a@b>") == .refuse(SMTPReply(452, .tooManyRecipients, "Too many recipients")))
    }

    @Test func verbsNotOfferedAreUnrecognized() {
        let bare = SMTPSessionMachine.Offer(startTLS: false, auth: false)
        let m = Self.machine(.afterEhlo, offer: bare)
        #expect(m.check(.starttls, argument: "") == .unrecognized)
        #expect(m.check(.auth, argument: "PLAIN") == .unrecognized)
        #expect(!m.advertisesStartTLS && !m.advertisesAuth)
    }

    @Test func tlsBeforeAuth() {
        let offer = SMTPSessionMachine.Offer(startTLS: true, auth: true, tlsBeforeAuth: true)
        let clear = Self.machine(.afterEhlo, offer: offer)
        #expect(clear.check(.auth, argument: "PLAIN") == .refuse(SMTPReply(530, .securityOther, "Must issue a STARTTLS command first")))
        #expect(!clear.advertisesAuth && clear.advertisesStartTLS)
        let tls = Self.machine(.afterEhloTLS, offer: offer)
        #expect(tls.check(.auth, argument: "PLAIN") == .proceed(.auth))
        #expect(tls.advertisesAuth && !tls.advertisesStartTLS)
    }

    @Test func startTLSForgetsWhatWasLearntInClear() {
        var m = Self.machine(.authenticated)
        m.apply(.senderAccepted)
        m.apply(.tlsStarting)
        #expect(m.state == .tlsPending && m.hello == nil && !m.isAuthenticated && m.recipientCount == 0)
        m.apply(.tlsEstablished)
        #expect(m.state == .ready && m.isTLS)
        #expect(m.check(.mail, argument: "FROM:<>") == .refuse(SMTPReply(503, .invalidCommand, "please say hello first ...")))
    }

    @Test func transactionsBeginAndEnd() {
        var m = Self.machine(.recipientGiven)
        #expect(m.state == .inTransaction && m.recipientCount == 1)
        m.apply(.messageStarted)
        #expect(m.state == .receivingMessage)
        m.apply(.messageFinished)
        #expect(m.state == .ready && m.recipientCount == 0)
        m.apply(.senderAccepted)
        m.apply(.recipientAccepted)
        m.apply(.helloAccepted(.ehlo))  // a new EHLO resets, as RSET would (RFC 5321 §4.1.4)
        #expect(m.state == .ready && m.recipientCount == 0)
        m.apply(.senderAccepted)
        m.apply(.transactionReset)
        #expect(m.state == .ready)
    }

    @Test func aRefusedGreetingCloses() {
        var m = SMTPSessionMachine(offer: Self.offer)
        m.apply(.greeted(accepted: false))
        #expect(m.state == .closing)
        #expect(m.readingMode(lineDecidesMode: false) == .close)
    }

    /// (situation, did the framer stop after the line?) → how to read on after the reply.
    @Test(arguments: [
        (Situation.afterEhlo, false, nil), (.afterEhlo, true, ReadingMode.commands),
        (.recipientGiven, true, .commands), (.receivingMessage, true, .message),
        (.saslExchange, true, .saslResponse), (.saslExchange, false, .saslResponse),
        (.tlsPending, true, .startTLS), (.closing, false, .close), (.closing, true, .close),
    ] as [(Situation, Bool, ReadingMode?)])
    func readingModeAfterAReply(_ situation: Situation, _ lineDecides: Bool, _ expected: ReadingMode?) {
        #expect(Self.machine(situation).readingMode(lineDecidesMode: lineDecides) == expected)
    }

    @Test(arguments: [
        ("DATA", true), ("data", true), ("BDAT 10 LAST", true), ("STARTTLS", true), ("auth plain", true), ("AUTH", true),
        ("DATAX", false), ("MAIL FROM:<a@b>", false), ("NOOP", false), ("RCPT TO:<data@x>", false), ("AUTHX", false), ("", false),
    ])
    func linesWhoseReplyDecidesTheReadingMode(_ line: String, _ expected: Bool) {
        #expect(ReadingMode.replyDecidesMode(forLine: Array(line.utf8)) == expected)
    }
}
