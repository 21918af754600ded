import Foundation
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// Runs the real checkpassword-protocol program in Tests/Fixtures: a child process reading fd 3.
@Suite struct AuthCheckpasswordTests {
    static let checkpw = AuthFixture.fixture("checkpassword.sh")

    func plugin(_ words: [String]? = nil, config: [String: [String]] = [:], programs: (any ProgramRunner)? = nil) throws -> PluginHarness {
        let words = words ?? ["checkpw", Self.checkpw, "true", "/bin/true"]
        return try PluginHarness(
            (["auth/auth_checkpassword"] + words).joined(separator: " "), config: config, services: AuthFixture.services(programs: programs))
    }

    @Test(arguments: [AuthMechanism.plain, .login])
    func acceptsAndRefuses(mechanism: AuthMechanism) async throws {
        let runner = CountingProgramRunner(SpawnProgramRunner())
        let plugin = try plugin(programs: runner)
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "test@example.com", password: "s3cret pass")) == .ok("auth_checkpassword"))
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "other@example.com", password: "x\"y\\z")) == .ok("auth_checkpassword"))
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "test@example.com", password: "wrong"))
                == .deny("auth_checkpassword - authentication failed"))
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "nobody@example.com", password: "s3cret pass"))
                == .deny("auth_checkpassword - authentication failed"))
        #expect(runner.count == 4)
    }

    @Test func temporaryFailure() async throws {
        #expect(
            try await AuthFixture.answer(try plugin(), AuthFixture.attempt(.plain, "temp@example.com", password: "x"))
                == .denySoft("auth_checkpassword - temporary failure"))
    }

    /// The program exec's `true` on success: its exit status is the answer.
    @Test func theTrueProgramDecides() async throws {
        let plugin = try plugin(["checkpw", Self.checkpw, "true", "/bin/false"])
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "test@example.com", password: "s3cret pass"))
                == .deny("auth_checkpassword - authentication failed"))
    }

    @Test func hangingProgramIsKilled() async throws {
        let plugin = try plugin(["checkpw", Self.checkpw, "true", "/bin/true", "timeout", "1"])
        let start = ContinuousClock.now
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "slow@example.com", password: "x"))
                == .denySoft("auth_checkpassword - temporary failure"))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func programNotRunnable() async throws {
        // Executable at start-up, gone by the attempt: a temporary failure, not a crash.
        let dir = try TemporaryDirectory()
        try dir.write("checkpw", "#!/bin/sh\nexit 0\n")
        chmod(dir.path + "/checkpw", 0o755)
        let plugin = try plugin(["checkpw", dir.path + "/checkpw", "true", "/bin/true"])
        unlink(dir.path + "/checkpw")
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "test@example.com", password: "s3cret pass"))
                == .denySoft("auth_checkpassword - temporary failure"))
    }

    @Test func refusesNULAndOverlongInput() async throws {
        let plugin = try plugin()
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.login, "test@example.com\0x", password: "s3cret pass"))
                == .deny("auth_checkpassword - authentication failed"))
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.login, "test@example.com", password: String(repeating: "p", count: 600)))
                == .deny("auth_checkpassword - authentication failed"))
    }

    @Test func configFileNamesThePrograms() async throws {
        let config = ["smtpauth-checkpassword": ["\(Self.checkpw) /bin/true"]]
        // What it read is the instance's own business; the harness cannot show it.
        let instance = try AuthCheckpassword(context: Fixture.context("auth/auth_checkpassword", [], config: config))
        #expect(instance.programs == .init(checkpw: Self.checkpw, truePath: "/bin/true"))
        let plugin = try plugin([], config: config)
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "test@example.com", password: "s3cret pass")) == .ok("auth_checkpassword"))
    }

    @Test func withoutAProgramNothingIsRegistered() throws {
        #expect(try plugin([]).registeredHooks.isEmpty)
        #expect(try plugin(["checkpw", "/nonexistent/checkpw", "true", "/bin/true"]).registeredHooks.isEmpty)
        #expect(try plugin().registeredHooks == [.authPlain, .authLogin])
        #expect(throws: PluginHarness.LoadError.self) { try plugin(["checkpw", Self.checkpw, "true", "/bin/true", "timeout", "0"]) }
    }
}

/// Counts the programs a plugin runs through the engine's runner.
final class CountingProgramRunner: ProgramRunner {
    private let runs = Atomic<Int>(0)
    private let runner: any ProgramRunner
    var count: Int { runs.load(ordering: .relaxed) }

    init(_ runner: any ProgramRunner) {
        self.runner = runner
    }

    func run(_ invocation: ProgramInvocation, deadline: ContinuousClock.Instant) async throws -> ProgramResult {
        runs.add(1, ordering: .relaxed)
        return try await runner.run(invocation, deadline: deadline)
    }
}
