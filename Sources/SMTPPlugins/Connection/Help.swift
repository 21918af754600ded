#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI

/// `help [not_implemented 1] [help_dir DIR] [COMMAND FILE]…`: answers HELP. `HELP` alone is
/// `214 Try 'HELP COMMAND' for getting help on COMMAND`; `HELP X` sends the file named for X
/// (a `COMMAND FILE` pair, else `DIR/x`), or `No help available for SMTP command: x`; a name
/// that is not a plain word is `502 Invalid command name`. `not_implemented 1` answers every
/// HELP with `502 Not implemented.` Without arguments DIR is `help`. Relative paths are taken
/// from the config directory. Files are read at (re)load.
public struct Help: SMTPPlugin {
    private let notImplemented: Bool
    /// Help text by lowercased command.
    private let texts: [String: String]

    public init(context: PluginContext) throws {
        let words = context.arguments.words
        guard words.count % 2 == 0 else {
            throw PluginArgumentError("help takes 'name value' pairs; '\(words.last ?? "")' has no value")
        }
        let base = (context.config as? DirectoryConfigStore)?.searchPath.first ?? "."
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : base + "/" + path }
        var notImplemented = false
        var directory: String? = words.isEmpty ? "help" : nil
        var files: [String: String] = [:]
        for index in stride(from: 0, to: words.count, by: 2) {
            let key = words[index]
            let value = words[index + 1]
            guard Self.isWord(key) else { throw PluginArgumentError("'\(key)' is not a command name") }
            switch key {
            case "not_implemented":
                switch value.lowercased() {
                case "1", "yes", "true", "on": notImplemented = true
                case "0", "no", "false", "off": notImplemented = false
                default: throw PluginArgumentError("not_implemented must be 1 or 0, not '\(value)'")
                }
            case "help_dir":
                directory = value
            default:
                guard let text = DirectoryConfigStore.readFile(resolve(value)) else {
                    throw PluginArgumentError("no help file \(resolve(value)) for command '\(key)'")
                }
                files[key.lowercased()] = text
            }
        }
        if let directory {
            for name in Self.listDirectory(resolve(directory)) where Self.isWord(name) && files[name.lowercased()] == nil {
                if let text = DirectoryConfigStore.readFile(resolve(directory) + "/" + name) { files[name.lowercased()] = text }
            }
        }
        self.notImplemented = notImplemented
        texts = files
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onHelp { context, argument in
            if notImplemented { return .done(SMTPReply(502, .invalidCommand, "Not implemented.")) }
            guard let word = argument.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else {
                return .ok("Try 'HELP COMMAND' for getting help on COMMAND")
            }
            let command = word.lowercased()
            // Only plain words name a file: no `HELP ../../etc/passwd`.
            guard Self.isWord(command) else { return .done(SMTPReply(502, .invalidCommand, "Invalid command name")) }
            var text = texts[command] ?? ""
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return .ok(text.isEmpty ? "No help available for SMTP command: \(command)" : text)
        }
    }

    /// Perl's `\w+`, in ASCII.
    static func isWord(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    private static func listDirectory(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
