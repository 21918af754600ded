#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The files one `logging/file` line writes to, opened on demand (append, mode 0640, never a
/// directory created) and closed when their name is no longer current: when the strftime name
/// changes, at the end of the connection that owned a per-connection file, or when the plugin
/// instance goes away (a reload makes a new one, which is how SIGHUP reopens every file).
final class LogFileSet: Sendable {
    struct Options: Sendable {
        /// A connection keeps writing to the file it started in (qpsmtpd's `nosplit`).
        var noSplit = false
        /// Each connection's first line reopens its file (qpsmtpd's `reopen`), so a file moved
        /// away by logrotate is created anew without a reload.
        var reopenPerConnection = false
        /// Files are per connection (the path has `%i`): closed when the connection ends.
        var perConnection = false
    }

    private struct State {
        var open: [String: Int32] = [:]
        var pinned: [String: String] = [:]  // connection → name (nosplit)
        var reopened: Set<String> = []       // connections that reopened their file
        var used: [String: Set<String>] = [:] // connection → names (per-connection files)
        var lastFailure: String?
    }

    static let fileMode: mode_t = 0o640
    let options: Options
    private let state = Mutex(State())

    init(options: Options) { self.options = options }

    deinit {
        state.withLock { for fd in $0.open.values { close(fd) } }
    }

    /// Opens `name` now, to find out at load time whether it can be written.
    func prepare(_ name: String) throws {
        try state.withLock { state in
            if state.open[name] != nil { return }
            let fd = Self.openForAppend(name)
            guard fd >= 0 else { throw FileLoggerError("cannot open log file \(name): \(String(cString: strerror(errno)))") }
            state.open[name] = fd
        }
    }

    /// Appends `line` to the file named `name` (or to the file the connection is pinned to).
    /// Returns a problem to report the first time a name cannot be opened or written.
    func write(_ line: String, to name: String, connection: String?) -> String? {
        state.withLock { (state: inout State) -> String? in
            var target = name
            if let connection {
                if options.noSplit {
                    if let pinned = state.pinned[connection] { target = pinned } else { state.pinned[connection] = name }
                }
                if options.reopenPerConnection && !state.reopened.contains(connection) {
                    state.reopened.insert(connection)
                    if let fd = state.open.removeValue(forKey: target) { close(fd) }
                }
                if options.perConnection { state.used[connection, default: []].insert(target) }
            }
            let fd: Int32
            if let existing = state.open[target] {
                fd = existing
            } else {
                fd = Self.openForAppend(target)
                guard fd >= 0 else {
                    let problem = "cannot open log file \(target): \(String(cString: strerror(errno)))"
                    defer { state.lastFailure = target }
                    return state.lastFailure == target ? nil : problem
                }
                state.open[target] = fd
                if !options.perConnection { closeStale(&state, keeping: target) }
            }
            guard writeWhole(line, to: fd) else {
                let problem = "cannot write log file \(target): \(String(cString: strerror(errno)))"
                defer { state.lastFailure = target }
                return state.lastFailure == target ? nil : problem
            }
            if state.lastFailure == target { state.lastFailure = nil }
            return nil
        }
    }

    /// Forgets a finished connection and closes the files only it used.
    func connectionEnded(_ connection: String) {
        state.withLock { state in
            state.pinned.removeValue(forKey: connection)
            state.reopened.remove(connection)
            guard let names = state.used.removeValue(forKey: connection) else { return }
            let stillUsed = state.used.values.reduce(into: Set<String>()) { $0.formUnion($1) }
            for name in names where !stillUsed.contains(name) {
                if let fd = state.open.removeValue(forKey: name) { close(fd) }
            }
        }
    }

    /// Names currently open (for tests).
    var openNames: Set<String> { state.withLock { Set($0.open.keys) } }

    /// After the name changed: closes every file but the new one and those sessions are pinned to.
    private func closeStale(_ state: inout State, keeping current: String) {
        let keep = Set(state.pinned.values).union([current])
        for (name, fd) in state.open where !keep.contains(name) {
            close(fd)
            state.open.removeValue(forKey: name)
        }
    }

    private static func openForAppend(_ name: String) -> Int32 {
        open(name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, fileMode)
    }
}

struct FileLoggerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
