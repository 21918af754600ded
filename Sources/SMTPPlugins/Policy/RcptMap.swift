#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI
import Synchronization

/// `rcpt_map domain NAME file MAP [default CODE[=MSG]]`: answers recipients at NAME from the
/// table in MAP (`address CODE [message]` lines, `#` comments; CODE is OK, DENY, DENYSOFT,
/// DENY_DISCONNECT, DENYSOFT_DISCONNECT or DECLINED). A recipient at NAME that is not in the
/// table gets the default, `DENY No such user.` (`550 5.1.1`); in MSG `_` stands for a space.
/// Other domains are left to other plugins. MAP is a path (relative to the working directory,
/// as qpsmtpd opens it, else a name in the config directory); it is read at load — missing,
/// empty or with a bad line, the load stops — and read again at the next connection after it
/// changes (qpsmtpd's pre-connection re-read); a changed map that is empty or has a bad line is
/// logged and the old one kept. Addresses compare without case.
public struct RcptMap: SMTPPlugin {
    struct Answer: Sendable, Hashable {
        var code: ReturnCodeWord
        var message: String?
        var result: HookResult { code.result(message) }
    }

    let domain: String
    let defaultAnswer: Answer
    let table: MapFile

    public init(context: PluginContext) throws {
        let arguments = try KeyValueArguments(context.arguments, plugin: "rcpt_map", known: ["domain", "file", "default"])
        guard let domain = arguments["domain"] else { throw PluginArgumentError("rcpt_map needs 'domain NAME'") }
        guard let file = arguments["file"] else { throw PluginArgumentError("rcpt_map needs 'file MAP'") }
        self.domain = domain.lowercased()
        if let word = arguments["default"] {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let code = ReturnCodeWord(word: parts[0]) else {
                throw PluginArgumentError("default must be CODE[=MESSAGE] with CODE one of \(ReturnCodeWord.allWords), not '\(word)'")
            }
            let message = parts.count > 1 && !parts[1].isEmpty ? parts[1].replacingUnderscores() : "5.1.1 No such user."
            defaultAnswer = Answer(code: code, message: message)
        } else {
            defaultAnswer = Answer(code: .deny, message: "5.1.1 No such user.")
        }
        table = try MapFile(path: Self.resolve(file, config: context.config), logger: context.logger)
    }

    /// qpsmtpd opens the path as given; a bare name that is not there is looked for among the config files.
    static func resolve(_ file: String, config: any ConfigStore) -> String {
        if file.hasPrefix("/") || access(file, F_OK) == 0 { return file }
        if let directory = config as? DirectoryConfigStore, let found = directory.location(of: file) { return found }
        return file
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            // One stat per connection; the (small) file is read only when it changed, which is rare
            // enough to do inline rather than pay a thread hop on every connection.
            table.refreshIfChanged(logger: context.logger)
            return .declined
        }
        hooks.onRcpt { context, _, recipient, _ in answer(context, recipient) }
    }

    func answer(_ context: HookContext, _ recipient: Mailbox) -> HookResult {
        guard !recipient.localPart.isEmpty, !recipient.domain.isEmpty else { return .declined }
        let host = recipient.domain.lowercased()
        guard host == domain else { return .declined }
        let address = recipient.localPart.lowercased() + "@" + host
        guard let answer = table.answers[address] else {
            context.logger.info("\(address) not in the map: \(defaultAnswer.code.rawValue)")
            return defaultAnswer.result
        }
        context.logger.info("\(address) in the map: \(answer.code.rawValue)")
        return answer.result
    }

    /// The table and the file it came from, read again when the file changes.
    final class MapFile: Sendable {
        /// What identifies one version of the file: a rewrite changes the time, size or inode.
        struct Version: Sendable, Equatable {
            var seconds: Int
            var nanoseconds: Int
            var size: Int
            var inode: UInt64
        }

        let path: String
        private let state: Mutex<(answers: [String: Answer], version: Version?)>

        init(path: String, logger: Logger) throws {
            self.path = path
            let version = Self.version(of: path)
            let answers = try Self.read(path)
            state = Mutex((answers, version))
        }

        var answers: [String: Answer] { state.withLock { $0.answers } }

        func refreshIfChanged(logger: Logger) {
            let current = Self.version(of: path)
            guard current != state.withLock({ $0.version }) else { return }
            do {
                let answers = try Self.read(path)
                state.withLock { $0 = (answers, current) }
                logger.info("re-read \(path): \(answers.count) addresses")
            } catch {
                // Keep answering from the last good table; note the version so this is logged once.
                state.withLock { $0.version = current }
                logger.error("keeping the previous map: \(error)")
            }
        }

        static func version(of path: String) -> Version? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Version(
                seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec), size: Int(info.st_size), inode: UInt64(info.st_ino))
        }

        static func read(_ path: String) throws -> [String: Answer] {
            guard let text = DirectoryConfigStore.readFile(path) else {
                throw PluginArgumentError("rcpt_map: cannot read map file \(path)")
            }
            var answers: [String: Answer] = [:]
            let raw = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
            for line in ConfigFileFormat.meaningfulLines(raw, file: path) {
                let words = line.text.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
                guard words.count >= 2 else {
                    throw PluginArgumentError("\(path):\(line.lineNumber): no return code after '\(words.first ?? "")'")
                }
                guard let code = ReturnCodeWord(word: words[1]) else {
                    throw PluginArgumentError("\(path):\(line.lineNumber): '\(words[1])' is not one of \(ReturnCodeWord.allWords)")
                }
                let message = words.count > 2 ? String(words[2]).trimmingSpacesAndTabs() : code.isRefusal ? "5.1.1 No such user." : nil
                answers[words[0].lowercased()] = Answer(code: code, message: message)
            }
            guard !answers.isEmpty else { throw PluginArgumentError("rcpt_map: empty map file \(path)") }
            return answers
        }
    }
}

extension Substring {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}
