import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

/// The Perl subset `PerlPattern` documents, each claim checked.
@Suite struct PerlPatternTests {
    static let line = ConfigLine(text: "", file: "memory:test", lineNumber: 7)

    @Test(arguments: [
        ("^user\\d+@doma\\.in$", "user42@doma.in", true),
        ("^user\\d+@doma\\.in$", "userx@doma.in", false),
        ("\\Qa.b\\E@", "a.b@x", true),
        ("\\Qa.b\\E@", "axb@x", false),
        ("(?i)^BIG@", "big@x", true),
        ("^[^@]+@(?!good\\.)", "u@bad.example", true),
        ("^[^@]+@(?!good\\.)", "u@good.example", false),
        ("^a.*?@", "aaa@x", true),
        ("\\bspam\\b", "no-spam@x", true),
        ("^x{2,3}@", "xx@x", true),
        ("^x{2,3}@", "x@x", false),
        ("%|!", "a%b@x", true),
        ("@.*\\.(ru|cn)$", "u@mail.cn", true),
        ("^\\S+\\s", "nospace@x", false),
    ])
    func subset(pattern: String, text: String, matches: Bool) throws {
        #expect(try PerlPattern(pattern, at: Self.line).matches(text) == matches)
    }

    @Test func ignoringCase() throws {
        #expect(try PerlPattern("^BIG@", at: Self.line).matches("big@x") == false)
        #expect(try PerlPattern("^BIG@", ignoringCase: true, at: Self.line).matches("big@x"))
    }

    /// Look-behind is Perl syntax Swift's `Regex` does not support (yet): refused at load.
    @Test(arguments: ["(unclosed", "a{2,1}", "(?{ code })", "[z-a]", "(?<=@)sub\\."])
    func refusedWithFileAndLine(pattern: String) {
        #expect {
            try PerlPattern(pattern, at: Self.line)
        } throws: { error in
            "\(error)".hasPrefix("memory:test:7: '\(pattern)'")
        }
    }
}
