#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPDaemon
import SMTPPluginAPI
import SMTPServer
import SMTPTesting
import Testing

/// qpsmtpd hands its logging plugins every record, whatever `loglevel` says; here the daemon
/// makes records up to the most verbose logging plugin's level.
@Suite struct LoggingCeilingTests {
    private func load(logging: [String], loglevel: Int = 4) throws -> DaemonSetup {
        let dir = TemporaryDirectory.make(prefix: "ceiling")
        for (name, text) in [("logging", logging.joined(separator: "\n")), ("plugins", "rcpt_ok"), ("loglevel", "\(loglevel)"), ("spool_dir", dir + "/spool")] {
            let file = try #require(fopen(dir + "/" + name, "w"))
            fputs(text + "\n", file)
            fclose(file)
        }
        return DaemonSetup.load(configDirectory: dir, plugins: .builtIn, processEnvironment: ["HOME": dir], resources: DaemonResources(blockingThreads: 1))
    }

    @Test func aVerboseLoggingPluginRaisesTheDaemonsAndThePluginsLoggers() throws {
        let dir = TemporaryDirectory.make(prefix: "ceiling-log")
        let setup = try load(logging: ["logging/warn 5", "logging/file loglevel LOGINFO \(dir)/q.log"])
        #expect(setup.errors.isEmpty, "\(setup.errors)")
        #expect(setup.environment.hooks.registry.loggingCeiling == 6)
        #expect(setup.environment.logger.logLevel == .info)
        #expect(setup.environment.hooks.registry.entries(for: .rcpt).first?.logger.logLevel == .info)
    }

    @Test func neverLowersTheLoglevelFile() throws {
        let setup = try load(logging: ["logging/warn 3"], loglevel: 7)
        #expect(setup.environment.logger.logLevel == .debug)
        #expect(setup.environment.hooks.registry.entries(for: .rcpt).first?.logger.logLevel == .debug)
        // devnull asks for nothing: the loglevel file alone decides.
        let quiet = try load(logging: ["logging/devnull"])
        #expect(quiet.environment.hooks.registry.loggingCeiling == nil)
        #expect(quiet.environment.logger.logLevel == .warning)
    }
}
