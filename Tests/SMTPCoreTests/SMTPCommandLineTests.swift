import SMTPCore
import Testing

struct CommandLineVector: Sendable, CustomTestStringConvertible {
    var line: String
    var verb: String
    var argument: String
    var wellFormed: Bool
    var known: SMTPVerb?
    var testDescription: String { line.debugDescription }
}

let commandLineVectors: [CommandLineVector] = [
    .init(line: "MAIL FROM:<a@b>", verb: "mail", argument: "FROM:<a@b>", wellFormed: true, known: .mail),
    .init(line: "helo  x ", verb: "helo", argument: "x", wellFormed: true, known: .helo),
    .init(line: "EHLO mail.example.com", verb: "ehlo", argument: "mail.example.com", wellFormed: true, known: .ehlo),
    .init(line: "MAIL  FROM: <a@b> SIZE=1", verb: "mail", argument: "FROM: <a@b> SIZE=1", wellFormed: true, known: .mail),
    .init(line: "RcPt TO:<x@y>", verb: "rcpt", argument: "TO:<x@y>", wellFormed: true, known: .rcpt),
    .init(line: "DATA", verb: "data", argument: "", wellFormed: true, known: .data),
    .init(line: "quit   ", verb: "quit", argument: "", wellFormed: true, known: .quit),
    .init(line: "NOOP a  b", verb: "noop", argument: "a  b", wellFormed: true, known: .noop),
    .init(line: "rset", verb: "rset", argument: "", wellFormed: true, known: .rset),
    .init(line: "VRFY postmaster", verb: "vrfy", argument: "postmaster", wellFormed: true, known: .vrfy),
    .init(line: "HELP", verb: "help", argument: "", wellFormed: true, known: .help),
    // A leading space gives an empty verb, which qpsmtpd hands to unrecognized_command.
    .init(line: " NOOP", verb: "", argument: "NOOP", wellFormed: false, known: nil),
    .init(line: "", verb: "", argument: "", wellFormed: false, known: nil),
    // A tab is not a separator.
    .init(line: "HELO\tx", verb: "helo\tx", argument: "", wellFormed: false, known: nil),
    .init(line: "HELO\tx y", verb: "helo\tx", argument: "y", wellFormed: false, known: nil),
    // Well-formed verbs the core does not implement itself go to plugins.
    .init(line: "STARTTLS", verb: "starttls", argument: "", wellFormed: true, known: .starttls),
    .init(line: "AUTH PLAIN AGFiYwBkZWY=", verb: "auth", argument: "PLAIN AGFiYwBkZWY=", wellFormed: true, known: .auth),
    .init(line: "X_CUSTOM_1", verb: "x_custom_1", argument: "", wellFormed: true, known: nil),
    .init(line: "ABCDEFGHIJKL", verb: "abcdefghijkl", argument: "", wellFormed: true, known: nil),
    .init(line: "ABCDEFGHIJKLM", verb: "abcdefghijklm", argument: "", wellFormed: false, known: nil),
    .init(line: "MAIL-FROM:<a@b>", verb: "mail-from:<a@b>", argument: "", wellFormed: false, known: nil),
    .init(line: "NÖOP", verb: "nöop", argument: "", wellFormed: false, known: nil),
]

@Test(arguments: commandLineVectors)
func commandLineSplitting(_ vector: CommandLineVector) {
    let line = SMTPCommandLine(parsing: vector.line)
    #expect(line.verb == vector.verb)
    #expect(line.argument == vector.argument)
    #expect(line.hasWellFormedVerb == vector.wellFormed)
    #expect(line.knownCommand == vector.known)
}

@Test(arguments: SMTPVerb.allCases)
func everyVerbIsKnownInAnyCase(_ verb: SMTPVerb) {
    #expect(SMTPCommandLine(parsing: verb.rawValue.uppercased()).knownCommand == verb)
    #expect(SMTPCommandLine(parsing: verb.rawValue).knownCommand == verb)
}
