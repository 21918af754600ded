import Foundation
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct AuthIMAPTests {
    @Test func quoting() {
        #expect(IMAPLoginClient.quoted(Array("a b".utf8)) == Array("\"a b\"".utf8))
        #expect(IMAPLoginClient.quoted(Array(#"x"y\z"#.utf8)) == Array(#""x\"y\\z""#.utf8))
        #expect(IMAPLoginClient.quoted(Array("pässwörd".utf8)) == nil)  // goes as a literal
    }

    @Test func taggedResults() {
        typealias C = IMAPLoginClient.Connection
        #expect(C.taggedResult("a1 OK Logged in") == .accepted)
        #expect(C.taggedResult("a1 NO [AUTHENTICATIONFAILED] Authentication failed.") == .refused("[AUTHENTICATIONFAILED] Authentication failed."))
        #expect(C.taggedResult("a1 NO [UNAVAILABLE] try later") == .unavailable("NO [UNAVAILABLE] try later"))
        #expect(C.taggedResult("a1 BAD syntax") == .unavailable("BAD syntax"))
        #expect(C.taggedResult("* OK hello") == nil)
        #expect(C.taggedResult("a10 OK") == nil)
    }

    @Test func arguments() throws {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("auth/auth_imap") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("auth/auth_imap localhost http") }
        // The default port is the instance's own business; the harness cannot show it.
        #expect(try AuthIMAP(context: Fixture.context("auth/auth_imap", ["imap.example"])).port == 143)
        #expect(try PluginHarness("auth/auth_imap imap.example").registeredHooks == [.authPlain, .authLogin])
    }

    @Test func refusesCRLFAndNULWithoutAsking() async throws {
        // Port 9 on loopback: nobody listens, so reaching the network would answer DENYSOFT.
        let plugin = try PluginHarness("auth/auth_imap 127.0.0.1 9", services: AuthFixture.services())
        for password in ["a\r\nb1 LOGOUT", "a\nb", "a\0b"] {
            #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "u@example.com", password: password)) == .deny("auth_imap"))
        }
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "u\r\n@example.com", password: "x")) == .deny("auth_imap"))
    }

    @Test func unreachableServerIsATemporaryFailure() async throws {
        let port = try Self.closedPort()
        let plugin = try PluginHarness("auth/auth_imap 127.0.0.1 \(port)", services: AuthFixture.services())
        #expect(
            try await AuthFixture.answer(plugin, AuthFixture.attempt(.login, "u@example.com", password: "x"))
                == .denySoft("auth_imap - authentication server unavailable"))
    }

    /// A port on 127.0.0.1 that was free a moment ago.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The exchange itself, over a scripted connection: a quoted user, an 8-bit password as a
    /// synchronising literal, LOGOUT after the answer, and the connection closed.
    @Test func scriptedExchange() async throws {
        let imap = ScriptedOutboundConnector(greeting: "* OK ready\r\n") { line in
            if line.hasSuffix("{8}") { return "+ go ahead\r\n" }
            if line == "pässwö" { return "a1 OK welcome\r\n" }
            return ""
        }
        let plugin = try PluginHarness("auth/auth_imap imap.example 1143", services: AuthFixture.services(connector: imap))
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "u@example.com", password: "pässwö")) == .ok("auth_imap"))
        let connection = try #require(imap.connections.first)
        #expect(connection.endpoint == .tcp(host: "imap.example", port: 1143))
        #expect(connection.written == "a1 LOGIN \"u@example.com\" {8}\r\npässwö\r\na2 LOGOUT\r\n")
        #expect(connection.isClosed)
    }

    /// Against a real Dovecot, started by tests/fixtures/dovecot.sh. Fails (does not skip) when
    /// Dovecot is not installed: CI installs dovecot-imapd.
    @Test func againstDovecot() async throws {
        let dir = try TemporaryDirectory()
        // Dovecot's unprivileged processes must reach the files under it.
        chmod(dir.path, 0o755)
        let script = AuthFixture.repositoryRoot + "/tests/fixtures/dovecot.sh"
        let started = try Self.run(
            script, ["start", dir.path + "/dovecot", "imapuser@example.com:imap secret", #"quote@example.com:a"b\c"#, "utf8@example.com:pässwörd"],
            in: dir.path)
        try #require(started.status == 0, "dovecot.sh start failed: \(started.error)")
        defer { _ = try? Self.run(script, ["stop", dir.path + "/dovecot"], in: dir.path) }
        let port = try #require(Int(started.output.trimmingCharacters(in: .whitespacesAndNewlines)))

        let plugin = try PluginHarness("auth/auth_imap 127.0.0.1 \(port)", services: AuthFixture.services())
        for mechanism in [AuthMechanism.plain, .login] {
            #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "imapuser@example.com", password: "imap secret")) == .ok("auth_imap"))
            #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "imapuser@example.com", password: "imap Secret")) == .deny("auth_imap"))
            #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(mechanism, "stranger@example.com", password: "imap secret")) == .deny("auth_imap"))
        }
        // Quoted-string escapes and an 8-bit password sent as a literal.
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "quote@example.com", password: #"a"b\c"#)) == .ok("auth_imap"))
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "utf8@example.com", password: "pässwörd")) == .ok("auth_imap"))
        #expect(try await AuthFixture.answer(plugin, AuthFixture.attempt(.plain, "utf8@example.com", password: "passwort")) == .deny("auth_imap"))
    }

    /// Runs `sh path arguments...` to its end, its output going through files in `directory`.
    /// posix_spawn and waitpid rather than Foundation's Process: with Dovecot daemonizing from
    /// the script, Process.waitUntilExit was seen never to notice the script's exit here.
    static func run(_ path: String, _ arguments: [String], in directory: String) throws -> (status: Int32, output: String, error: String) {
        let outPath = directory + "/script.out"
        let errPath = directory + "/script.err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/bin/sh", path] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        try #require(rc == 0, "posix_spawn: \(rc)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), output, error)
    }
}
