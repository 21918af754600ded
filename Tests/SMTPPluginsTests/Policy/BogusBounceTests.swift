import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct BogusBounceTests {
    static let tooMany = "fail, this bounce message does not have 1 recipient"
    static let returnPath = "a bounce return path must be empty (RFC 3834)"

    private func run(_ line: String, sender: String = "<>", recipients: [String], header: String = "Subject: x") async throws -> HookResult {
        let harness = try PluginHarness(line)
        try await harness.mail(from: sender)
        for recipient in recipients { try await harness.rcpt(to: recipient) }
        try harness.setMessage(header + "\n\nbody\n")
        return try await harness.dataPost()
    }

    @Test func aGoodBouncePasses() async throws {
        #expect(try await run("bogus_bounce deny", recipients: ["a@test.example"]) == .declined)
        #expect(try await run("bogus_bounce deny", recipients: ["a@test.example"], header: "Return-Path: <>") == .declined)
    }

    @Test func ordinaryMailIsNotABounce() async throws {
        #expect(try await run("bogus_bounce deny", sender: "s@example.com", recipients: ["a@test.example", "b@test.example"]) == .declined)
    }

    @Test(arguments: [
        ("bogus_bounce", HookResult.declined),
        ("bogus_bounce log", .declined),
        ("bogus_bounce deny", .deny(tooMany)),
        ("check_bogus_bounce DenySoft", .denySoft(tooMany)),
        ("bogus_bounce reject 1", .deny(tooMany)),
        ("bogus_bounce reject 1 reject_type temp", .denySoft(tooMany)),
        ("bogus_bounce deny reject 0", .declined),
    ])
    func twoRecipients(line: String, expected: HookResult) async throws {
        #expect(try await run(line, recipients: ["a@test.example", "b@test.example"]) == expected)
    }

    @Test func aReturnPathIsRefused() async throws {
        let result = try await run("bogus_bounce deny", recipients: ["a@test.example"], header: "Return-Path: <someone@example.com>")
        #expect(result == .deny(Self.returnPath))
    }

    @Test(arguments: ["bogus_bounce refuse", "bogus_bounce reject", "bogus_bounce deny reject maybe", "bogus_bounce deny colour blue"])
    func badArgumentsAreRefused(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}
