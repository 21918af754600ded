import SMTPPluginAPI
import SMTPTesting
import Testing

/// qpsmtpd's plugin helpers, done once in HookContext for every plugin.
@Suite struct HookContextTests {
    /// At MAIL: refuses every sender through `context.reject`. At RCPT: karma −1 and an
    /// Authentication-Results entry. At DATA: answers whether the client is immune.
    struct Refuser: SMTPPlugin {
        init(context: PluginContext) throws {}
        func register(into hooks: inout HookRegistry) {
            hooks.onMail { context, _, _, _ in context.reject("no thanks", defaultType: .temp) }
            hooks.onRcpt { context, _, _, _ in
                context.adjustKarma(by: -1)
                context.addAuthenticationResult("test=pass")
                return .declined
            }
            hooks.onData { context, _ in context.isImmune ? .ok("immune") : .deny("not immune") }
        }
    }

    @Test(arguments: [
        ("", HookResult.denySoft("no thanks")),  // the plugin's defaults: reject 1, temp
        ("reject 1", .denySoft("no thanks")),
        ("reject_type perm", .deny("no thanks")),
        ("reject_type hard", .deny("no thanks")),
        ("reject_type disconnect", .denyDisconnect("no thanks")),
        ("reject_type temp_disconnect", .denySoftDisconnect("no thanks")),
        ("reject 0", .declined),
        ("reject naughty", .declined),
    ])
    func rejectFollowsThePluginsArguments(_ arguments: String, _ expected: HookResult) async throws {
        let harness = try PluginHarness(Refuser.self, "test/refuser \(arguments)")
        #expect(try await harness.mail(from: "a@b.example") == expected)
        let naughty = harness.connection[note: .naughty]
        #expect((naughty == "no thanks") == (arguments == "reject naughty"))
        if arguments == "reject naughty" { #expect(harness.connection[note: .naughtyRejectType] == "temp") }
    }

    @Test func karmaAndAuthenticationResultsAccumulate() async throws {
        let harness = try PluginHarness(Refuser.self, "test/refuser")
        try await harness.rcpt(to: "x@y.example")
        try await harness.rcpt(to: "z@y.example")
        #expect(harness.connection[note: .karma] == -2)
        #expect(harness.connection[note: .authenticationResults] == ["test=pass", "test=pass"])
    }

    @Test func immuneIsRelayClientOrWhitelisted() async throws {
        let harness = try PluginHarness(Refuser.self, "test/refuser")
        #expect(try await harness.run(.data) == .deny("not immune"))
        harness.connection.isRelayClient = true
        #expect(try await harness.run(.data) == .ok("immune"))
        harness.connection.isRelayClient = false
        harness.connection[note: .whitelistHost] = true
        #expect(try await harness.run(.data) == .ok("immune"))
        harness.connection[note: .whitelistHost] = nil
        harness.transaction[note: .whitelistSender] = true
        #expect(try await harness.run(.data) == .ok("immune"))
    }
}

/// The example in SMTPPlugin's documentation, as written there: it must compile and work.
struct QuitFortune: SMTPPlugin {
    init(context: PluginContext) throws {}
    func register(into hooks: inout HookRegistry) {
        hooks.onQuit { _ in .done(SMTPReply(221, .ok, "Bye")) }
    }
}

@Test func theDocumentedExamplePluginWorks() async throws {
    let harness = try PluginHarness(QuitFortune.self, "test/quit_fortune")
    #expect(try await harness.run(.quit) == .done(SMTPReply(221, .ok, "Bye")))
}
