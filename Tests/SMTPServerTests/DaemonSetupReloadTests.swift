#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPDaemon
import SMTPServer
import SMTPTesting
import Testing

/// What a SIGHUP relies on: each load reads the directory afresh and makes new plugins, while the
/// process-lifetime resources are the ones passed in.
@Suite struct DaemonSetupReloadTests {
    let resources = DaemonResources(blockingThreads: 1)
    let dir = TemporaryDirectory.make(prefix: "reload")

    func write(_ name: String, _ text: String) throws {
        let file = try #require(fopen(dir + "/" + name, "w"))
        fputs(text, file)
        fclose(file)
    }

    func load() -> DaemonSetup {
        DaemonSetup.load(configDirectory: dir, plugins: .builtIn, processEnvironment: ["HOME": dir], resources: resources)
    }

    @Test func secondLoadSeesEditsAndSharesResources() throws {
        try write("me", "before.example\n")
        try write("loglevel", "4\n")
        try write("plugins", "rcpt_ok\nqueue/discard\n")
        try write("spool_dir", dir + "/spool\n")
        let first = load()
        #expect(first.errors.isEmpty)
        try write("me", "after.example\n")
        try write("loglevel", "7\n")
        let second = load()
        #expect(second.errors.isEmpty)
        #expect(second.environment.settings.hostName == "after.example")
        #expect(second.environment.logger.logLevel == .debug)
        // The first setup is untouched: sessions that hold it keep their view.
        #expect(first.environment.settings.hostName == "before.example")
        #expect(first.environment.logger.logLevel == .warning)
        #expect(first.environment.authFailures === resources.authFailures)
        #expect(second.environment.authFailures === resources.authFailures)
    }

    @Test func badPluginLineIsAnErrorWithFileAndLine() throws {
        try write("plugins", "rcpt_ok\nno_such_plugin\nqueue/discard\n")
        try write("spool_dir", dir + "/spool\n")
        let setup = load()
        #expect(setup.errors.map(\.description).contains { $0.hasPrefix(dir + "/plugins:2: unknown plugin 'no_such_plugin'") })
    }
}
