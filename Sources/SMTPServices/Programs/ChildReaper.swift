#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SMTPPluginAPI

/// Waits for a child without holding a thread: `waitpid(WNOHANG)` between short sleeps (1 ms
/// doubling to 20 ms; most programs we run answer in milliseconds). A SIGCHLD-driven reaper
/// would answer sooner but takes the signal from the whole process.
enum ChildReaper {
    /// The child's end; at `deadline` or on cancellation its process group is killed, the child
    /// reaped, and `ProgramError.timedOut` / `CancellationError` thrown.
    static func wait(for pid: pid_t, deadline: ContinuousClock.Instant) async throws -> ProgramTermination {
        var pause = Duration.milliseconds(1)
        while true {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return termination(status) }
            if reaped < 0 && errno != EINTR {
                // ECHILD: someone else reaped it (a SIGCHLD handler set to SIG_IGN). Nothing to kill.
                throw ProgramError.cannotStart("waitpid: \(String(cString: strerror(errno)))")
            }
            let now = ContinuousClock.now
            if now >= deadline {
                killAndReap(pid)
                throw ProgramError.timedOut
            }
            do {
                try await Task.sleep(for: min(pause, now.duration(to: deadline)))
            } catch {
                killAndReap(pid)
                throw CancellationError()
            }
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    /// SIGKILL to the child's group and the child, then a blocking waitpid: a killed process
    /// is gone within microseconds, so this does not hold the thread in practice.
    static func killAndReap(_ pid: pid_t) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// WIFEXITED/WEXITSTATUS/WTERMSIG, which are C macros Swift cannot call.
    static func termination(_ status: Int32) -> ProgramTermination {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }
}
