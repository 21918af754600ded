#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CCrypt
import Logging
import SMTPPluginAPI

/// `auth/auth_checkpassword checkpw /path/checkpw true /path/true [timeout seconds]`, or config file
/// `smtpauth-checkpassword` holding `/path/checkpw /path/true`: asks a program speaking DJB's
/// checkpassword protocol (https://cr.yp.to/checkpwd/interface.html). The program runs with
/// argv `[checkpw, true]` and reads `user\0password\0timestamp\0` from file descriptor 3. Exit 0
/// (after exec'ing `true`) accepts, 1 refuses, 111 is a temporary failure; any other end refuses.
/// PLAIN and LOGIN only: the protocol needs the clear password.
///
/// Differences from qpsmtpd: a refusal is DENY, not DECLINED, and exit 111 or a program that
/// hangs past the timeout (10 s) answers DENYSOFT; the vpopmail `sudo` wrapping is not done.
/// Without a configured program the plugin logs an error and registers nothing, as qpsmtpd does.
public struct AuthCheckpassword: SMTPPlugin {
    public static let registeredHooks: [HookPoint] = [.authPlain, .authLogin]

    static let label = "auth_checkpassword"
    /// checkpassword programs read at most 512 bytes from descriptor 3.
    static let maximumInput = 512

    struct Programs: Sendable, Hashable {
        var checkpw: String
        var truePath: String
    }

    let programs: Programs?
    private let timeout: Duration
    private let logger: Logger
    private let blocking: any BlockingWorkRunner

    public init(context: PluginContext) throws {
        logger = context.logger
        blocking = context.services.blocking
        if let word = context.arguments["timeout"] {
            guard let seconds = Int(word), seconds > 0 else {
                throw PluginArgumentError("timeout must be a positive number of seconds, not '\(word)'")
            }
            timeout = .seconds(seconds)
        } else {
            timeout = .seconds(10)
        }
        var checkpw = context.arguments["checkpw"]
        var truePath = context.arguments["true"]
        if checkpw == nil || truePath == nil {
            let words = context.config.value("smtpauth-checkpassword")?.split(whereSeparator: { $0 == " " || $0 == "\t" }) ?? []
            checkpw = words.first.map(String.init)
            truePath = words.dropFirst().first.map(String.init)
        }
        guard let checkpw, let truePath else {
            context.logger.error("disabled auth_checkpassword, plugin requires a 'checkpw' argument")
            programs = nil
            return
        }
        guard access(checkpw, X_OK) == 0 else {
            context.logger.error("disabled: '\(checkpw)' isn't executable")
            programs = nil
            return
        }
        programs = Programs(checkpw: checkpw, truePath: truePath)
    }

    public func register(into hooks: inout HookRegistry) {
        guard programs != nil else { return }
        hooks.onAuth([.plain, .login]) { _, attempt in
            try await authenticate(attempt)
        }
    }

    func authenticate(_ attempt: AuthAttempt) async throws -> HookResult {
        guard let programs, let password = attempt.password else { return .declined }
        // NUL separates the fields: a NUL inside one would let the caller forge the others.
        guard !attempt.user.utf8.contains(0), !password.utf8.contains(0) else {
            logger.info("fail: NUL in the user name or password")
            return .deny("\(Self.label) - authentication failed")
        }
        var input = Array(attempt.user.utf8) + [0] + Array(password.utf8) + [0]
        input += Array(String(Int(time(nil))).utf8) + [0]
        guard input.count <= Self.maximumInput else {
            logger.info("fail: user name and password longer than checkpassword reads")
            return .deny("\(Self.label) - authentication failed")
        }
        let timeout = self.timeout
        let outcome = try await blocking.run { [input] in
            CheckpasswordRunner.run(programs.checkpw, programs.truePath, input: input, timeout: timeout)
        }
        switch outcome {
        case .exited(0):
            logger.info("pass: \(attempt.user)")
            return .ok(Self.label)
        case .exited(1):
            logger.info("fail: \(attempt.user): login incorrect")
            return .deny("\(Self.label) - authentication failed")
        case .exited(111):
            logger.warning("temporary failure checking \(attempt.user)")
            return .denySoft("\(Self.label) - temporary failure")
        case .exited(let code):
            logger.error("\(programs.checkpw) exited \(code)")
            return .deny("\(Self.label) - authentication failed")
        case .signaled(let signal):
            logger.error("\(programs.checkpw) killed by signal \(signal)")
            return .deny("\(Self.label) - authentication failed")
        case .timedOut:
            logger.error("\(programs.checkpw) did not finish in \(timeout); killed")
            return .denySoft("\(Self.label) - temporary failure")
        case .failed(let step, let code):
            logger.error("cannot run \(programs.checkpw): \(step): errno \(code)")
            return .denySoft("\(Self.label) - temporary failure")
        }
    }
}

/// Runs one checkpassword program with its input on descriptor 3.
///
/// Why posix_spawn by hand: the protocol needs a pipe on descriptor 3 of the child, and neither
/// Foundation's Process nor swift-subprocess 1.0.2 can hand a child anything but stdin, stdout
/// and stderr on Linux (its PlatformOptions has no file actions). posix_spawn's file actions can
/// `dup2` our pipe to 3 without a fork in Swift code. Blocking (it waits for the child): run it
/// through the plugin's BlockingWorkRunner.
enum CheckpasswordRunner {
    enum Outcome: Sendable, Hashable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case failed(step: String, code: Int32)
    }

    static func run(_ program: String, _ truePath: String, input: [UInt8], timeout: Duration) -> Outcome {
        // The whole input fits in the pipe's buffer (at most 512 bytes against 64 KiB), so it is
        // written before the child starts and the write end closed: the child reads it and then EOF.
        var fds: [Int32] = [-1, -1]
        guard ccrypt_pipe_cloexec(&fds) == 0 else { return .failed(step: "pipe", code: errno) }
        var readEnd = fds[0]
        let writeEnd = fds[1]
        defer { close(readEnd) }
        let written = input.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        let writeErrno = errno
        close(writeEnd)
        guard written == input.count else { return .failed(step: "write", code: written < 0 ? writeErrno : EIO) }
        // dup2(3, 3) would leave close-on-exec set, so the source must not already be 3.
        if readEnd == 3 {
            let moved = fcntl(readEnd, F_DUPFD_CLOEXEC, 4)
            guard moved >= 0 else { return .failed(step: "fcntl", code: errno) }
            close(readEnd)
            readEnd = moved
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, readEnd, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The server may ignore SIGPIPE or block signals; the child starts with the defaults.
        // Its own process group lets a timeout kill whatever it started too.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), strdup(truePath), nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        guard spawned == 0 else { return .failed(step: "posix_spawn", code: spawned) }
        return wait(for: pid, timeout: timeout)
    }

    /// Polls for the child's end until the deadline, then kills its process group.
    private static func wait(for pid: pid_t, timeout: Duration) -> Outcome {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var status: Int32 = 0
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return outcome(status) }
            if reaped < 0 && errno != EINTR { return .failed(step: "waitpid", code: errno) }
            if clock.now >= deadline { break }
            nanosleep(&pause, nil)
            // Back off to 20 ms: most programs answer within a few milliseconds.
            pause.tv_nsec = min(pause.tv_nsec * 2, 20_000_000)
        }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return .timedOut
    }

    /// WIFEXITED/WEXITSTATUS/WTERMSIG, which are C macros Swift cannot call.
    private static func outcome(_ status: Int32) -> Outcome {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }
}
