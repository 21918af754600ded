import Foundation
import Logging
import SMTPCore
import SMTPPluginAPI
import SMTPServices
import Testing

@testable import SMTPPlugins

/// Helpers shared by the plugin tests.
enum Fixture {
    static func context(
        _ name: String,
        _ words: [String] = [],
        config: [String: [String]] = [:],
        hostName: String = "mx.test.example"
    ) -> PluginContext {
        PluginContext(
            instanceName: name,
            arguments: PluginArguments(words),
            config: InMemoryConfigStore(config),
            logger: Logger(label: name, factory: { _ in SwiftLogNoOpLogHandler() }),
            // Real sockets and processes: the auth tests talk to Dovecot and run checkpassword.
            services: PluginServices(hostName: hostName, connector: NIOOutboundConnector(), programs: SpawnProgramRunner()))
    }

    static func mailbox(_ address: String) -> Mailbox {
        guard let at = address.lastIndex(of: "@") else { return Mailbox(localPart: address, domain: "") }
        return Mailbox(localPart: String(address[..<at]), domain: String(address[address.index(after: at)...]))
    }

    /// A message as the session would hold it: header parsed, body spooled with its offset set.
    static func message(_ text: String, memoryThreshold: Int = 1 << 20) throws -> (MessageHeader, SpooledMessage) {
        let bytes = Array(text.utf8)
        let parsed = try #require(MessageHeader.parse(bytes, isComplete: true))
        let spool = SpooledMessage(spoolDirectory: NSTemporaryDirectory(), memoryThreshold: memoryThreshold)
        try spool.append(bytes)
        spool.bodyOffset = parsed.bodyOffset
        return (parsed.header, spool)
    }
}

/// A fresh directory under /tmp, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/smtpplugins-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func files(in sub: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path + "/" + sub).sorted()
    }

    func read(_ sub: String) throws -> String {
        try String(contentsOfFile: path + "/" + sub, encoding: .utf8)
    }
}
