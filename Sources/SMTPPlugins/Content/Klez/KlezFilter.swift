public import SMTPPluginAPI

/// `virus/klez_filter`: qpsmtpd's heuristic for the 2002 Klez worm. In a message of at least
/// 60,000 bytes, an audio or application part header among the body's first lines followed by
/// base64 that starts like a Windows executable (`TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQA`, "MZ...")
/// is refused: `Klez Virus Detected`. Only the first 41 body lines are read.
public struct KlezFilter: SMTPPlugin {
    static let minimumSize = 60_000
    static let linesRead = 41
    static let executableStart = Array("TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQA".utf8)

    public init(context: PluginContext) throws {
        guard context.arguments.words.isEmpty else { throw PluginArgumentError("virus/klez_filter takes no arguments") }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            guard let body = transaction.body, transaction.dataSize >= Self.minimumSize else { return .declined }
            return try await Self.looksLikeKlez(body, reader: context.services.spool) ? .deny("Klez Virus Detected") : .declined
        }
    }

    static func looksLikeKlez(_ message: SpooledMessage, reader: any SpoolReader) async throws -> Bool {
        var splitter = LineSplitter()
        var count = 0
        var seenPartHeader = false
        var atStart = true
        for try await chunk in reader.body(of: message, chunkSize: 8192) {
            for line in splitter.split(chunk) {
                // The spooled body starts with the blank line that ended the header.
                if atStart && line.isEmpty {
                    atStart = false
                    continue
                }
                atStart = false
                count += 1
                if count > linesRead { return false }
                if isAudioOrApplicationType(line) {
                    seenPartHeader = true
                } else if seenPartHeader && line.starts(with: executableStart) {
                    return true
                }
            }
        }
        return false
    }

    /// `Content-type: ...audio...` or `...application...`, case-insensitive, as qpsmtpd matches it.
    static func isAudioOrApplicationType(_ line: [UInt8]) -> Bool {
        let text = String(decoding: line, as: UTF8.self).lowercased()
        guard text.hasPrefix("content-type:") else { return false }
        let rest = text.dropFirst("content-type:".count)
        return rest.contains("audio") || rest.contains("application")
    }
}
