import SMTPCore

/// What `exim -bS` says about a batch. Exim answers no command on its own: when it gives up it
/// writes the SMTP reply it would have sent (`550 5.7.1 ...`) as the first line of its standard
/// output, then where the transaction started and where the error was found, a longer account on
/// standard error, and exits 1 if earlier messages of the batch were accepted, 2 if none was,
/// 0 only without errors. ACL `defer`s are reported as 550 too; Exim BSMTP knows no 4xx but its
/// own `421` for input that ended early.
struct EximOutput {
    /// The reply on the first line of standard output, if there is one.
    var code: Int?
    var text: String?

    init(_ output: [UInt8]) {
        let firstLine = String(decoding: output.prefix { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
        let digits = firstLine.prefix(3)
        if digits.count == 3, let code = Int(digits), (200...599).contains(code) {
            self.code = code
            text = String(firstLine.dropFirst(3).drop { $0 == " " || $0 == "-" })
        }
    }
}
