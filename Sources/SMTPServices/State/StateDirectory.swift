#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the persistent state lives: config `state_dir`, else a directory beside the spool
/// (`/var/spool/qpsmtpd` → `/var/spool/qpsmtpd-state`). Beside, not inside: the spool holds
/// throw-away message files, and a sibling named after it cannot collide with another program's
/// `state` directory in a shared parent such as /var/spool.
public enum StateDirectory {
    public static let databaseFileName = "state.sqlite"

    public static func path(configured: String?, spoolDirectory: String) -> String {
        if let configured, !configured.isEmpty { return configured }
        var spool = spoolDirectory
        while spool.count > 1 && spool.hasSuffix("/") { spool.removeLast() }
        return spool + "-state"
    }

    /// Creates `path` (and missing parents) with mode 0700 and checks we may write there; the
    /// problem in words otherwise. Runs with effective ids, so under `--user` it is that user's.
    public static func prepare(_ path: String) -> String? {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) != 0 && errno != EEXIST {
                return "cannot create state directory \(partial): \(String(cString: strerror(errno)))"
            }
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return "state directory \(path): \(String(cString: strerror(errno)))"
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "state directory \(path) is not a directory" }
        if faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0 {
            return "state directory \(path) is not writable: \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
