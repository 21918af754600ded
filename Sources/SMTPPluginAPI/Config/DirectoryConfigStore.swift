#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Config files looked up per name in a list of directories; the first directory that has the
/// file wins (qpsmtpd: `QPSMTPD_CONFIG`, then `./config`, then `/var/qmail/control`).
/// Contents are cached until `reload()`; the daemon makes a new store for each (re)load instead.
public final class DirectoryConfigStore: ConfigStore {
    public let searchPath: [String]
    private let cache = Mutex<[String: [ConfigLine]]>([:])

    public init(searchPath: [String]) {
        self.searchPath = searchPath
    }

    /// The standard lookup: an explicit directory, `$QPSMTPD_CONFIG`, `./config`, `/var/qmail/control`.
    public static func standard(explicitDirectory: String?, environment: [String: String]) -> DirectoryConfigStore {
        var path: [String] = []
        if let explicitDirectory { path.append(explicitDirectory) }
        if let env = environment["QPSMTPD_CONFIG"], !env.isEmpty { path.append(env) }
        path.append("./config")
        path.append((environment["QMAIL"] ?? "/var/qmail") + "/control")
        return DirectoryConfigStore(searchPath: path)
    }

    public func entries(_ name: String) -> [ConfigLine] {
        if let cached = cache.withLock({ $0[name] }) { return cached }
        let lines = location(of: name).map { load(path: $0, seen: []) } ?? []
        cache.withLock { $0[name] = lines }
        return lines
    }

    public func reload() {
        cache.withLock { $0.removeAll() }
    }

    /// The file that `entries(name)` reads, if any directory has it.
    public func location(of name: String) -> String? {
        for directory in searchPath {
            let candidate = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if access(candidate, F_OK) == 0 { return candidate }
        }
        return nil
    }

    private func load(path: String, seen: Set<String>) -> [ConfigLine] {
        if seen.contains(path) { return [] }  // circular $include: ignored, as qpsmtpd does
        var isDirectory = false
        var info = stat()
        if stat(path, &info) == 0 { isDirectory = (info.st_mode & S_IFMT) == S_IFDIR }
        if isDirectory {
            return Self.listDirectory(path).flatMap { load(path: path + "/" + $0, seen: seen.union([path])) }
        }
        guard let text = Self.readFile(path) else { return [] }
        var out: [ConfigLine] = []
        for line in ConfigFileFormat.meaningfulLines(Self.splitLines(text), file: path) {
            if line.text.hasPrefix("$include") {
                let target = line.text.dropFirst("$include".count).trimmingPrefixSpaces()
                let resolved = target.hasPrefix("/") ? String(target) : (location(of: String(target)) ?? String(target))
                out += load(path: resolved, seen: seen.union([path]))
            } else {
                out.append(line)
            }
        }
        return out
    }

    /// Splits on LF scalars: in Swift "\r\n" is one Character, so splitting Characters on "\n" would miss it.
    static func splitLines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    /// A whole text file, nil when it cannot be read.
    public static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}

extension Substring {
    func trimmingPrefixSpaces() -> Substring { drop(while: { $0 == " " || $0 == "\t" }) }
}
