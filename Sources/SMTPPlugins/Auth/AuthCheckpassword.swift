#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI

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
    private let runner: any ProgramRunner
    private let clock: any PluginClock

    public init(context: PluginContext) throws {
        logger = context.logger
        runner = context.services.programs
        clock = context.services.clock
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
        input += Array(String(Int(clock.now.secondsSinceEpoch)).utf8) + [0]
        guard input.count <= Self.maximumInput else {
            logger.info("fail: user name and password longer than checkpassword reads")
            return .deny("\(Self.label) - authentication failed")
        }
        // argv is `checkpw true`; the input goes on descriptor 3, 0-2 are /dev/null.
        let invocation = ProgramInvocation(programs.checkpw, arguments: [programs.truePath], inputs: [3: input])
        let termination: ProgramTermination
        do {
            termination = try await runner.run(invocation, deadline: .now.advanced(by: timeout)).termination
        } catch ProgramError.timedOut {
            logger.error("\(programs.checkpw) did not finish in \(timeout); killed")
            return .denySoft("\(Self.label) - temporary failure")
        } catch let error as ProgramError {
            logger.error("cannot run \(programs.checkpw): \(error)")
            return .denySoft("\(Self.label) - temporary failure")
        }
        switch termination {
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
        }
    }
}
