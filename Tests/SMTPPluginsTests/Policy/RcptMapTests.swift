import Foundation
import Logging
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct RcptMapTests {
    static let map = """
        # example_org_map
        me@example.org        OK
        You@Example.org       OK
        info@example.org      DENY      User not found.
        busy@example.org      DENYSOFT  Try later
        """

    private func harness(_ extra: String = "", map: String = RcptMapTests.map) throws -> (PluginHarness, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        try directory.write("map", map)
        let harness = try PluginHarness("rcpt_map domain Example.ORG file \(directory.path)/map" + extra)
        return (harness, directory)
    }

    @Test(arguments: [
        ("me@example.org", HookResult.ok(nil)),
        ("you@EXAMPLE.org", .ok(nil)),
        ("info@example.org", .deny("User not found.")),
        ("busy@example.org", .denySoft("Try later")),
        ("stranger@example.org", .deny("5.1.1 No such user.")),
        ("anyone@other.example", .declined),
    ])
    func answers(recipient: String, expected: HookResult) async throws {
        let (harness, _) = try harness()
        #expect(try await harness.rcpt(to: recipient) == expected)
    }

    @Test(arguments: [
        (" default DENYSOFT=Mailbox_is_being_moved", HookResult.denySoft("Mailbox is being moved")),
        (" default DECLINED", .declined),
        (" default deny_disconnect", .denyDisconnect("5.1.1 No such user.")),
    ])
    func defaultArgument(extra: String, expected: HookResult) async throws {
        let (harness, _) = try harness(extra)
        #expect(try await harness.rcpt(to: "stranger@example.org") == expected)
    }

    @Test func aChangedMapIsReadAtTheNextConnection() async throws {
        let (harness, directory) = try harness()
        #expect(try await harness.rcpt(to: "new@example.org") == .deny("5.1.1 No such user."))
        try directory.write("map", "new@example.org OK\n")
        // Not before the next connection: a session keeps the table it started with.
        #expect(try await harness.rcpt(to: "new@example.org") == .deny("5.1.1 No such user."))
        try await harness.connect()
        #expect(try await harness.rcpt(to: "new@example.org") == .ok(nil))
        #expect(try await harness.rcpt(to: "me@example.org") == .deny("5.1.1 No such user."))
        // A broken rewrite keeps the last good table.
        try directory.write("map", "broken@example.org MAYBE\n")
        try await harness.connect()
        #expect(try await harness.rcpt(to: "new@example.org") == .ok(nil))
    }

    /// qpsmtpd opens MAP from the working directory; a bare name not found there is a config file.
    @Test func aBareNameIsLookedForInTheConfigDirectory() throws {
        let directory = try TemporaryDirectory()
        try directory.write("example_org_map", "a@example.org OK\n")
        let context = PluginContext(
            instanceName: "rcpt_map", arguments: PluginArguments(["domain", "example.org", "file", "example_org_map"]),
            config: DirectoryConfigStore(searchPath: [directory.path]), logger: Logger(label: "rcpt_map"),
            services: PluginServices(hostName: "mx.test.example"))
        let plugin = try RcptMap(context: context)
        #expect(plugin.table.path == directory.path + "/example_org_map")
        #expect(plugin.table.answers["a@example.org"]?.code == .ok)
    }

    @Test func badArgumentsAndMapsAreRefused() throws {
        let directory = try TemporaryDirectory()
        try directory.write("good", "a@example.org OK\n")
        try directory.write("empty", "# nothing\n")
        try directory.write("nocode", "a@example.org\n")
        try directory.write("badcode", "a@example.org\nb@example.org MAYBE\n")
        let lines = [
            "rcpt_map file \(directory.path)/good",
            "rcpt_map domain example.org",
            "rcpt_map domain example.org file \(directory.path)/missing",
            "rcpt_map domain example.org file \(directory.path)/empty",
            "rcpt_map domain example.org file \(directory.path)/nocode",
            "rcpt_map domain example.org file \(directory.path)/good default MAYBE=x",
            "rcpt_map domain example.org file \(directory.path)/good default DONE",
            "rcpt_map domain example.org file \(directory.path)/good colour blue",
        ]
        for line in lines {
            #expect(throws: PluginHarness.LoadError.self, "\(line)") { try PluginHarness(line) }
        }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("rcpt_map domain example.org file \(directory.path)/badcode") }
        _ = try PluginHarness("rcpt_map domain example.org file \(directory.path)/good")
    }
}

@Suite struct RcptRegexpTests {
    static let table = [
        "me@myhost.org           OK       Accepting mail",
        "/^user\\d+\\@doma\\.in$/   OK",
        "Info@MyHost.com         DENY     User not found.",
        "/^unused\\@.*/           DENYSOFT     Later",
        "/^.*$/                  DECLINED Fall through",
    ]

    @Test(arguments: [
        ("me@myhost.org", HookResult.ok("Accepting mail")),
        ("USER42@doma.in", .ok(nil)),
        ("info@myhost.com", .deny("User not found.")),
        ("unused@anywhere.example", .denySoft("Later")),
        ("someone@else.example", .declined),
    ])
    func answers(recipient: String, expected: HookResult) async throws {
        let harness = try PluginHarness("rcpt_regexp", config: ["rcpt_regexp": Self.table])
        #expect(try await harness.rcpt(to: recipient) == expected)
    }

    @Test func firstMatchingLineDecides() async throws {
        let harness = try PluginHarness("rcpt_regexp", config: ["rcpt_regexp": ["/@example\\.org$/ DENY_DISCONNECT bye", "a@example.org OK"]])
        #expect(try await harness.rcpt(to: "a@example.org") == .denyDisconnect("bye"))
    }

    @Test(arguments: [["/^(unclosed@/ OK"], ["a@example.org"], ["a@example.org PERHAPS"]])
    func badLinesStopTheLoad(lines: [String]) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("rcpt_regexp", config: ["rcpt_regexp": lines]) }
    }

    @Test func takesNoArguments() {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("rcpt_regexp strict 1") }
    }
}
