import SMTPCore
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

@Suite struct CountUnrecognizedCommandsTests {
    private func results(_ words: [String], commands: Int) async throws -> ([HookResult], Connection) {
        let registry = Fixture.registry(try CountUnrecognizedCommands(context: Fixture.context("count_unrecognized_commands", words)))
        let connection = Fixture.connection()
        var out: [HookResult] = []
        for _ in 0..<commands {
            out.append(try await Fixture.call(registry, .unrecognizedCommand, connection, nil, .unrecognized(verb: "foo", argument: "")))
        }
        return (out, connection)
    }

    @Test func disconnectsAtTheLimit() async throws {
        let (results, connection) = try await results(["3"], commands: 3)
        #expect(results[0] == .declined)
        #expect(results[1] == .declined)
        #expect(results[2] == .denyDisconnect("Closing connection, 3 unrecognized commands. Perhaps you should read RFC 2821?"))
        #expect(connection[note: .unrecognizedCommandCount] == 3)
    }

    @Test func defaultsToFour() async throws {
        let (results, _) = try await results([], commands: 4)
        #expect(results.prefix(3).allSatisfy { $0 == .declined })
        #expect(results[3] == .denyDisconnect("Closing connection, 4 unrecognized commands. Perhaps you should read RFC 2821?"))
    }

    @Test func continuesAnExistingCount() async throws {
        let registry = Fixture.registry(try CountUnrecognizedCommands(context: Fixture.context("count_unrecognized_commands", ["2"])))
        let connection = Fixture.connection()
        connection[note: .unrecognizedCommandCount] = 5
        let result = try await Fixture.call(registry, .unrecognizedCommand, connection, nil, .unrecognized(verb: "x", argument: ""))
        #expect(result == .denyDisconnect("Closing connection, 6 unrecognized commands. Perhaps you should read RFC 2821?"))
    }

    @Test(arguments: ["0", "-1", "four"])
    func rejectsBadLimits(word: String) {
        #expect(throws: PluginArgumentError.self) {
            try CountUnrecognizedCommands(context: Fixture.context("count_unrecognized_commands", [word]))
        }
    }
}

@Suite struct DontRequireAngleBracketsTests {
    private let registry = Fixture.registry(try! DontRequireAngleBrackets(context: Fixture.context("dont_require_anglebrackets")))

    @Test(arguments: [
        (HookPoint.mailPre, "user@example.org", HookResult.ok("<user@example.org>")),
        (.mailPre, "", .ok("<>")),
        (.mailPre, "<user@example.org>", .declined),
        (.mailPre, "<>", .declined),
        (.rcptPre, "postmaster", .ok("<postmaster>")),
        (.rcptPre, "user@example.org", .ok("<user@example.org>")),
        (.rcptPre, "<user@example.org>", .declined),
    ])
    func wrapsBarePaths(point: HookPoint, path: String, expected: HookResult) async throws {
        let result = try await Fixture.call(registry, point, Fixture.connection(), Transaction(id: "t"), .path(path, []))
        #expect(result == expected)
    }

    @Test func costsKarma() async throws {
        let connection = Fixture.connection()
        _ = try await Fixture.call(registry, .mailPre, connection, Transaction(id: "t"), .path("a@b.example", []))
        _ = try await Fixture.call(registry, .rcptPre, connection, Transaction(id: "t"), .path("<c@d.example>", []))
        _ = try await Fixture.call(registry, .rcptPre, connection, Transaction(id: "t"), .path("c@d.example", []))
        #expect(connection[note: .karma] == -4)
    }
}
