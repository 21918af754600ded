#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPosix
import SMTPPluginAPI

/// A child started with posix_spawn, and the parent's ends of its pipes.
///
/// Why posix_spawn by hand: checkpassword reads its input on descriptor 3, and neither
/// Foundation's Process nor swift-subprocess 1.0.2 can hand a child anything but 0, 1 and 2 on
/// Linux (its PlatformOptions has no file actions). posix_spawn's file actions place any pipe
/// on any descriptor without a fork in Swift code.
struct SpawnedChild {
    let pid: pid_t
    /// Write ends for the invocation's inputs, with the bytes each is to carry.
    var inputs: [(fd: Int32, bytes: [UInt8])] = []
    /// Write ends for the invocation's streamed inputs.
    var streams: [(fd: Int32, stream: ProgramInputStream)] = []
    var output: Int32?
    var error: Int32?

    static func spawn(_ invocation: ProgramInvocation) throws -> SpawnedChild {
        var targets = Set(invocation.inputs.keys)
        guard targets.isDisjoint(with: invocation.streamedInputs.keys) else {
            throw ProgramError.invalid("a descriptor both fed bytes and streamed")
        }
        targets.formUnion(invocation.streamedInputs.keys)
        guard targets.allSatisfy({ $0 >= 0 }) else { throw ProgramError.invalid("negative descriptor") }
        if invocation.captureOutput {
            guard targets.insert(1).inserted else { throw ProgramError.invalid("descriptor 1 both fed and captured") }
        }
        if invocation.captureError {
            guard targets.insert(2).inserted else { throw ProgramError.invalid("descriptor 2 both fed and captured") }
        }
        // Our pipe ends all sit above every target, so no dup2 overwrites a source still needed,
        // and a dup2 always changes the number (which clears close-on-exec in the child).
        let floor = max(3, (targets.max() ?? 0) + 1)

        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        var placements: [(source: Int32, target: Int32)] = []
        var child = SpawnedChild(pid: 0)
        defer { for fd in childEnds { close(fd) } }
        do {
            for (target, bytes) in invocation.inputs.sorted(by: { $0.key < $1.key }) {
                let (read, write) = try pipe(above: floor)
                childEnds.append(read)
                parentEnds.append(write)
                placements.append((read, target))
                child.inputs.append((write, bytes))
            }
            for (target, stream) in invocation.streamedInputs.sorted(by: { $0.key < $1.key }) {
                let (read, write) = try pipe(above: floor)
                childEnds.append(read)
                parentEnds.append(write)
                placements.append((read, target))
                child.streams.append((write, stream))
            }
            for (wanted, target) in [(invocation.captureOutput, Int32(1)), (invocation.captureError, 2)] where wanted {
                let (read, write) = try pipe(above: floor)
                childEnds.append(write)
                parentEnds.append(read)
                placements.append((write, target))
                if target == 1 { child.output = read } else { child.error = read }
            }
            child = SpawnedChild(
                pid: try start(invocation, placements: placements, targets: targets), inputs: child.inputs, streams: child.streams, output: child.output,
                error: child.error)
            return child
        } catch {
            for fd in parentEnds { close(fd) }
            throw error
        }
    }

    /// A close-on-exec pipe with both ends moved to `floor` or above.
    private static func pipe(above floor: Int32) throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard cposix_pipe_cloexec(&fds) == 0 else { throw ProgramError.cannotStart("pipe: \(String(cString: strerror(errno)))") }
        for index in 0..<2 where fds[index] < floor {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, floor)
            let code = errno
            close(fds[index])
            fds[index] = moved
            guard moved >= 0 else {
                for fd in fds where fd >= 0 { close(fd) }
                throw ProgramError.cannotStart("fcntl: \(String(cString: strerror(code)))")
            }
        }
        return (fds[0], fds[1])
    }

    private static func start(_ invocation: ProgramInvocation, placements: [(source: Int32, target: Int32)], targets: Set<Int32>) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, target) in placements {
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        for fd: Int32 in [0, 1, 2] where !targets.contains(fd) {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The server may ignore SIGPIPE or block signals; the child starts with the defaults.
        // Its own process group lets a deadline kill whatever it started too.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = ([invocation.path] + invocation.arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = invocation.environment.map { environment in
            environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { for entry in envp ?? [] { free(entry) } }
        var pid: pid_t = 0
        let rc: Int32
        if let envp {
            rc = posix_spawn(&pid, invocation.path, &actions, &attributes, argv, envp)
        } else {
            rc = posix_spawn(&pid, invocation.path, &actions, &attributes, argv, environ)
        }
        guard rc == 0 else { throw ProgramError.cannotStart("\(invocation.path): \(String(cString: strerror(rc)))") }
        return pid
    }
}
