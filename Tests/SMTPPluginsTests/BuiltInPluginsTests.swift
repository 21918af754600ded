import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

@Suite struct BuiltInPluginsTests {
    @Test func namesAreUnique() {
        let names = BuiltInPlugins.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.contains("queue/maildir"))
    }

    /// What `register(into:)` actually registered, with `logging` for log handlers.
    private func registered(_ plugin: any SMTPPlugin) -> Set<HookPoint> {
        var registry = HookRegistry()
        plugin.register(into: &registry)
        var points = Set(HookPoint.allCases.filter { registry.has($0) })
        if !registry.loggers.isEmpty { points.insert(.logging) }
        return points
    }

    @Test func registeredHooksMatchRegistration() throws {
        let maildir = try TemporaryDirectory()
        try maildir.write("cert.pem", "x")
        try maildir.write("key.pem", "x")
        // Arguments that make each plugin register everything it can.
        let fullArguments: [String: [String]] = [
            "relay": ["only", "1"],
            "queue/maildir": [maildir.path + "/Maildir"],
            "count_unrecognized_commands": ["5"],
            "logging/warn": ["6"],
            // The tls plugin only checks that the files can be read.
            "tls": [maildir.path + "/cert.pem", maildir.path + "/key.pem"],
            "auth/auth_checkpassword": ["checkpw", "/bin/false", "true", "/bin/true"],
            "auth/auth_imap": ["127.0.0.1"],
        ]
        for (name, type) in BuiltInPlugins.all {
            let plugin = try type.init(context: Fixture.context(name, fullArguments[name] ?? []))
            #expect(registered(plugin) == Set(type.registeredHooks), "\(name)")
        }
        // Fewer arguments may register fewer hooks, never others.
        let plainRelay = try Relay(context: Fixture.context("relay"))
        #expect(registered(plainRelay) == [.connect])
    }
}
