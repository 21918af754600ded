import SMTPCore
import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// clamd's reply parsing, the chunk framing and the arguments; tests/live/test_clamav.py scans
/// with a real clamd.
@Suite struct ClamdScanTests {
    @Test func verdicts() {
        #expect(ClamdVerdict(reply: "stream: OK") == .clean)
        #expect(ClamdVerdict(reply: "stream: Eicar-Test-Signature FOUND") == .found("Eicar-Test-Signature"))
        #expect(ClamdVerdict(reply: "INSTREAM size limit exceeded. ERROR") == .error("INSTREAM size limit exceeded. ERROR"))
        #expect(ClamdVerdict(reply: "stream: lstat() failed. ERROR") == .error("stream: lstat() failed. ERROR"))
    }

    @Test func chunksAreLedByTheirLengthInNetworkOrder() {
        #expect(ClamdClient.lengthPrefix(0) == [0, 0, 0, 0])
        #expect(ClamdClient.lengthPrefix(65536) == [0, 1, 0, 0])
        #expect(ClamdClient.lengthPrefix(0x0102_0304) == [1, 2, 3, 4])
    }

    @Test func arguments() throws {
        let defaults = try ClamdScanSettings(PluginArguments([]))
        #expect(defaults.endpoint == .unix(path: "/var/run/clamav/clamd.ctl"))
        #expect(defaults.denyViruses && !defaults.deferOnError && !defaults.scanAll && defaults.maxSize == 128 * 1024)
        let tcp = try ClamdScanSettings(PluginArguments(["clamd_socket", "/x.sock", "clamd_port", "3310", "deny_viruses", "no", "max_size", "512"]))
        #expect(tcp.endpoint == .tcp(host: "127.0.0.1", port: 3310) && !tcp.denyViruses && tcp.maxSize == 512 * 1024)
        #expect(try ClamdScanSettings(PluginArguments(["clamd_socket", "/run/c.sock"])).endpoint == .unix(path: "/run/c.sock"))
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/clamdscan clamd_port http") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/clamdscan deny_viruses maybe") }
        #expect(throws: PluginHarness.LoadError.self) { try PluginHarness("virus/clamdscan max_size") }
    }

    @Test func onlyMultipartMessagesUnlessScanAll() async throws {
        #expect(ClamdScan.isMultipart(MessageHeader(fields: [.init(name: "Content-Type", value: "multipart/mixed;\n boundary=\"x\"")])))
        #expect(!ClamdScan.isMultipart(MessageHeader(fields: [.init(name: "Content-Type", value: "text/plain")])))
        #expect(!ClamdScan.isMultipart(MessageHeader()))
        // Not multipart and no scan_all: clamd is never asked.
        let clamd = ScriptedOutboundConnector { _ in "" }
        let harness = try PluginHarness("virus/clamdscan defer_on_error yes", services: PluginServices(hostName: "mx", connector: clamd))
        try await harness.mail(from: "s@example.org")
        try await harness.rcpt(to: "u@example.net")
        try harness.setMessage("Subject: x\r\n\r\nbody\r\n")
        #expect(try await harness.dataPost() == .declined)
        #expect(clamd.connections.isEmpty)
    }

    @Test func aSilentClamdDefersWhenAsked() async throws {
        // The scripted peer never answers the NUL-ended command: the plugin treats it as an error.
        let clamd = ScriptedOutboundConnector { _ in "" }
        for (words, expected) in [("scan_all 1", HookResult.declined), ("scan_all 1 defer_on_error yes", .denySoft("4.7.1 Unable to scan for viruses"))] {
            let harness = try PluginHarness("virus/clamdscan " + words, services: PluginServices(hostName: "mx", connector: clamd))
            try await harness.mail(from: "s@example.org")
            try await harness.rcpt(to: "u@example.net")
            try harness.setMessage("Subject: x\r\n\r\nbody\r\n")
            #expect(try await harness.dataPost() == expected)
        }
    }
}
