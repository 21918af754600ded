import Foundation
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Synchronization
import Testing

@testable import SMTPPlugins

/// Counts the blocking jobs it runs, so tests can see slow work leave the session's thread.
final class CountingBlockingRunner: BlockingWorkRunner {
    private let jobs = Atomic<Int>(0)
    var count: Int { jobs.load(ordering: .relaxed) }
    func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        jobs.add(1, ordering: .relaxed)
        return try work()
    }
}

enum AuthFixture {
    static func attempt(_ mechanism: AuthMechanism, _ user: String, password: String? = nil, digest: String? = nil, challenge: String? = nil) -> AuthAttempt {
        AuthAttempt(mechanism: mechanism, user: user, password: password, digest: digest, challenge: challenge)
    }

    /// The attempt as the session makes it: the mechanism's hook, then the generic one.
    static func answer(_ harness: PluginHarness, _ attempt: AuthAttempt) async throws -> HookResult {
        try await harness.auth(attempt)
    }

    /// Real sockets and processes, as the daemon's: the auth tests talk to Dovecot and run checkpassword.
    static func services(
        blocking: any BlockingWorkRunner = InlineBlockingWorkRunner(), connector: (any OutboundConnector)? = nil, programs: (any ProgramRunner)? = nil
    ) -> PluginServices {
        PluginServices(blocking: blocking, hostName: "mx.test.example", connector: connector ?? NIOOutboundConnector(), programs: programs ?? SpawnProgramRunner())
    }

    /// `Tests/Fixtures/<name>`.
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }

    /// The repository's root.
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}

@Suite struct AuthFlatFileTests {
    // Test credentials, made for these tests only:
    // $6$ by `openssl passwd -6 -salt abcdefgh 'hashed pw'` (an implementation other than libxcrypt),
    // $5$ by `openssl passwd -5 -salt saltsalt 'hashed pw'`,
    // $y$ and $2b$ by libxcrypt's crypt_gensalt/crypt.
    static let sha512 = "$6$abcdefgh$KrjtiPztfoWkGr4eOxz79BjqZLjeU2CHHS0P3.fivFQiX4fC4fYFz79xGKYcCKuJl2WuoCtPsPXuL.do8fIzN."
    static let sha256 = "$5$saltsalt$FusoG/lGWwr9ZnKVtPBsK/OknDDYgemym87voaz4F/C"
    static let yescrypt = "$y$j9T$BonkQ13/cBIt5q65Bnex5/$.khIIK7BFZO1ify/21oRlgqU/f0ouFvCHWrbQMOukQ7"
    static let bcrypt = "$2b$05$abcdefghijklmnopqrstuuSWr1Pvscwhfqg67oucrW2wZW1/3igSi"

    let config = [
        "flat_auth_pw": [
            "# comment",
            "clear@example.com:clear secret:with colon",
            "Mixed@Example.COM:mixed",
            "sha512@example.com:\(sha512)",
            "sha256@example.com:\(sha256)",
            "yescrypt@example.com:\(yescrypt)",
            "bcrypt@example.com:\(bcrypt)",
            "literal@example.com:{PLAIN}$6$notahash",
            "nodomain:plain",
        ]
    ]

    func plugin(blocking: any BlockingWorkRunner = InlineBlockingWorkRunner()) throws -> PluginHarness {
        try PluginHarness("auth/auth_flat_file", config: config, services: AuthFixture.services(blocking: blocking))
    }

    @Test(arguments: [AuthMechanism.plain, .login])
    func clearPassword(mechanism: AuthMechanism) async throws {
        let plugin = try plugin()
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "clear@example.com", password: "clear secret:with colon")) == .ok("auth_flat_file"))
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "clear@example.com", password: "clear secret"))
                == .deny("auth_flat_file - wrong password"))
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "clear@example.com", password: ""))
                == .deny("auth_flat_file - wrong password"))
    }

    @Test func userIsCaseInsensitivePasswordIsNot() async throws {
        let plugin = try plugin()
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "mixed@example.com", password: "mixed")) == .ok("auth_flat_file"))
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "MIXED@example.com", password: "mixed")) == .ok("auth_flat_file"))
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "mixed@example.com", password: "MIXED"))
                == .deny("auth_flat_file - wrong password"))
    }

    @Test(arguments: ["sha512", "sha256", "yescrypt", "bcrypt"])
    func hashedPasswords(kind: String) async throws {
        let runner = CountingBlockingRunner()
        let plugin = try plugin(blocking: runner)
        for mechanism in [AuthMechanism.plain, .login] {
            #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "\(kind)@example.com", password: "hashed pw")) == .ok("auth_flat_file"))
            #expect(
                try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "\(kind)@example.com", password: "hashed pW"))
                    == .deny("auth_flat_file - wrong password"))
        }
        // Each crypt(3) ran through the blocking runner, not on the caller's thread.
        #expect(runner.count == 4)
    }

    @Test func passwordWithNULDoesNotMatchItsPrefix() async throws {
        let plugin = try plugin()
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.login, "sha512@example.com", password: "hashed pw\0more"))
                == .deny("auth_flat_file - wrong password"))
    }

    @Test func plainPrefixKeepsALiteralDollarPassword() async throws {
        let plugin = try plugin()
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "literal@example.com", password: "$6$notahash")) == .ok("auth_flat_file"))
    }

    /// RFC 2195's example: the digest is HMAC-MD5(key: password, message: challenge).
    static let rfcChallenge = "<1896.697170952@postoffice.reston.mci.net>"
    static let rfcPassword = "tanstaaftanstaaf"
    static let rfcDigest = "b913a602c7eda7a495b4e6e7334d3890"

    @Test func cramMD5DigestMatchesRFC2195() {
        #expect(AuthPasswordCheck.cramMD5Digest(challenge: Self.rfcChallenge, password: Self.rfcPassword) == Self.rfcDigest)
    }

    @Test func cramMD5() async throws {
        let plugin = try PluginHarness("auth/auth_flat_file", config: ["flat_auth_pw": ["tim@example.com:\(Self.rfcPassword)"]])
        #expect(
            try await AuthFixture.answer(
                plugin, AuthFixture.attempt(.cramMD5, "tim@example.com", digest: Self.rfcDigest, challenge: Self.rfcChallenge))
                == .ok("auth_flat_file"))
        // Clients may write the hex in capitals.
        #expect(
            try await AuthFixture.answer(
                plugin, AuthFixture.attempt(.cramMD5, "tim@example.com", digest: Self.rfcDigest.uppercased(), challenge: Self.rfcChallenge))
                == .ok("auth_flat_file"))
        var wrong = Array(Self.rfcDigest)
        wrong[31] = wrong[31] == "0" ? "1" : "0"
        #expect(
            try await AuthFixture.answer(
                plugin, AuthFixture.attempt(.cramMD5, "tim@example.com", digest: String(wrong), challenge: Self.rfcChallenge))
                == .deny("auth_flat_file - wrong password"))
        // The right digest of another challenge (a replay).
        #expect(
            try await AuthFixture.answer(
                plugin, AuthFixture.attempt(.cramMD5, "tim@example.com", digest: Self.rfcDigest, challenge: "<1.2@other.example>"))
                == .deny("auth_flat_file - wrong password"))
        // No challenge to check against: not ours to decide.
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.cramMD5, "tim@example.com", digest: Self.rfcDigest)) == .declined)
    }

    @Test func cramMD5AgainstAHashDeclines() async throws {
        let plugin = try plugin()
        let digest = AuthPasswordCheck.cramMD5Digest(challenge: "<1.2@mx>", password: "hashed pw")
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.cramMD5, "sha512@example.com", digest: digest, challenge: "<1.2@mx>")) == .declined)
    }

    @Test func unknownUserAndNoDomainDecline() async throws {
        let plugin = try plugin()
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "nobody@example.com", password: "x")) == .declined)
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "nodomain", password: "plain")) == .declined)
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.login, "clear", password: "clear secret:with colon")) == .declined)
    }

    @Test func missingPasswordIsDenied() async throws {
        let plugin = try plugin()
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "clear@example.com")) == .deny("authflat - missing password"))
    }

    @Test func unusableHashIsATemporaryFailure() async throws {
        let plugin = try PluginHarness("auth/auth_flat_file", config: ["flat_auth_pw": ["broken@example.com:{CRYPT}$99$salt$hash"]])
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "broken@example.com", password: "x"))
                == .denySoft("auth_flat_file - cannot check the password now"))
    }

    @Test func registersTheThreeMechanisms() throws {
        #expect(try plugin().registeredHooks == [.authPlain, .authLogin, .authCramMD5])
    }
}

@Suite struct AuthPasswordCheckTests {
    @Test func storedPasswordForms() {
        #expect(StoredPassword(parsing: "secret") == .clear("secret"))
        #expect(StoredPassword(parsing: AuthFlatFileTests.sha512) == .crypt(AuthFlatFileTests.sha512))
        #expect(StoredPassword(parsing: "{CRYPT}abJnggxhB/yWI") == .crypt("abJnggxhB/yWI"))
        #expect(StoredPassword(parsing: "{PLAIN}$y$x$y$z") == .clear("$y$x$y$z"))
        #expect(StoredPassword(parsing: "$6$") == .clear("$6$"))
        // The description never shows a clear password.
        #expect(!String(describing: StoredPassword(parsing: "secret")).contains("secret"))
    }

    @Test func constantTimeEqual() {
        #expect(AuthPasswordCheck.constantTimeEqual([], []))
        #expect(AuthPasswordCheck.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!AuthPasswordCheck.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!AuthPasswordCheck.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!AuthPasswordCheck.constantTimeEqual([1, 2], [1, 2, 0]))
        // Lengths differing by a multiple of 256 still differ.
        #expect(!AuthPasswordCheck.constantTimeEqual([], [UInt8](repeating: 0, count: 256)))
    }

    @Test func cryptHashRoundTrip() throws {
        let hash = try #require(AuthPasswordCheck.cryptHash("hashed pw", setting: "$6$abcdefgh"))
        #expect(hash == AuthFlatFileTests.sha512)
        #expect(AuthPasswordCheck.cryptHash("x", setting: "$unknown$salt") == nil)
        #expect(AuthPasswordCheck.canCheck(hash: AuthFlatFileTests.yescrypt))
        #expect(AuthPasswordCheck.canCheck(hash: AuthFlatFileTests.bcrypt))
        #expect(!AuthPasswordCheck.canCheck(hash: "$unknown$salt$hash"))
    }

    @Test func attemptDescriptionHidesTheSecret() {
        let attempt = AuthAttempt(mechanism: .plain, user: "u@example.com", password: "hunter2")
        #expect(!attempt.description.contains("hunter2"))
    }
}

@Suite struct AuthDenyTests {
    @Test func alwaysDeclinesAtTheGenericHook() async throws {
        let plugin = try PluginHarness("auth/authdeny")
        #expect(plugin.registeredHooks == [.auth])
        for mechanism in AuthMechanism.allCases {
            #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "u@example.com", password: "p", digest: "d", challenge: "c")) == .declined)
        }
    }
}
