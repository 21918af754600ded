#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Running as an unprivileged user after binding (`serve --user NAME`). glibc applies each
/// set*id call to every thread of the process, so the event loops and the blocking pool change
/// identity together.
enum Privileges {
    struct Failure: Error, CustomStringConvertible { var description: String }

    struct Account: Sendable {
        var name: String
        var uid: uid_t
        var gid: gid_t
        /// The account's home directory: where the default spool (`$HOME/tmp`) goes.
        var home: String

        init(named name: String) throws {
            guard let entry = getpwnam(name) else { throw Failure(description: "no such user") }
            self.name = name
            uid = entry.pointee.pw_uid
            gid = entry.pointee.pw_gid
            home = String(cString: entry.pointee.pw_dir)
        }
    }

    /// Becomes `account` for file access (effective ids) while keeping the means to bind as root.
    static func assumeTemporarily(_ account: Account) throws {
        var groups = [account.gid]
        // Root's supplementary groups would otherwise still open group-readable files.
        guard setgroups(1, &groups) == 0, setegid(account.gid) == 0, seteuid(account.uid) == 0 else {
            throw Failure(description: String(cString: strerror(errno)))
        }
    }

    /// Back to effective root, after `assumeTemporarily`.
    static func regainRoot() throws {
        guard seteuid(0) == 0, setegid(0) == 0 else { throw Failure(description: String(cString: strerror(errno))) }
    }

    /// Becomes `account` for good: real, effective and saved ids.
    static func drop(to account: Account) throws {
        var groups = [account.gid]
        guard setgroups(1, &groups) == 0 || getuid() != 0, setgid(account.gid) == 0, setuid(account.uid) == 0 else {
            throw Failure(description: String(cString: strerror(errno)))
        }
        // A process that can get root back has not dropped anything.
        if account.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0) {
            throw Failure(description: "could regain root after dropping privileges")
        }
    }
}
