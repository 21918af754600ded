import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

@Suite struct ConnectionTimeTests {
    @Test func formatsTheLine() {
        #expect(ConnectionTime.line(ip: "192.0.2.1", elapsed: .milliseconds(1234)) == "Connection time from 192.0.2.1: 1.234 sec.")
        #expect(ConnectionTime.line(ip: "192.0.2.1", elapsed: .milliseconds(5)) == "Connection time from 192.0.2.1: 0.005 sec.")
    }

    @Test func levels() {
        #expect(ConnectionTime.level("LOGNOTICE") == .notice)
        #expect(ConnectionTime.level("logdebug") == .debug)
        #expect(ConnectionTime.level("6") == .info)
        #expect(ConnectionTime.level("LOGLOUD") == nil)
    }

    @Test func startsAtPreConnectionOrConnect() async throws {
        let harness = try PluginHarness("connection_time LOGINFO")
        try await harness.connect()
        let first = try #require(harness.connection[note: ConnectionTime.started])
        try await harness.run(.preConnection)
        #expect(harness.connection[note: ConnectionTime.started]! >= first)
        #expect(try await harness.run(.postConnection) == .declined)
    }

    @Test(arguments: ["connection_time LOGLOUD", "connection_time 9", "connection_time LOGINFO LOGDEBUG"])
    func refusesBadArguments(line: String) {
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness(line) }
    }
}
