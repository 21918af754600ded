/// One program to run, with the descriptors it gets.
public struct ProgramInvocation: Sendable, Hashable {
    public var path: String
    /// argv[1...]; argv[0] is `path`.
    public var arguments: [String]
    /// The whole environment, or nil for the server's own.
    public var environment: [String: String]?
    /// Bytes the program reads on each descriptor, which then reaches end of file:
    /// checkpassword reads `user\0pass\0timestamp\0` on 3, qmail-queue the message on 0 and the
    /// envelope on 1. Descriptors 0, 1 and 2 not named here or captured are /dev/null.
    public var inputs: [Int32: [UInt8]]
    /// Inputs too large to hold in memory (a spooled message): each stream's chunks are written
    /// as the program reads them, then its descriptor reaches end of file.
    public var streamedInputs: [Int32: ProgramInputStream]
    public var captureOutput: Bool
    public var captureError: Bool
    /// Captured output beyond this many bytes is read and dropped, so a chatty program cannot
    /// fill memory or block on a full pipe.
    public var captureLimit: Int

    public init(
        _ path: String, arguments: [String] = [], environment: [String: String]? = nil, inputs: [Int32: [UInt8]] = [:],
        streamedInputs: [Int32: ProgramInputStream] = [:], captureOutput: Bool = false, captureError: Bool = false, captureLimit: Int = 1 << 20
    ) {
        self.path = path
        self.arguments = arguments
        self.environment = environment
        self.inputs = inputs
        self.streamedInputs = streamedInputs
        self.captureOutput = captureOutput
        self.captureError = captureError
        self.captureLimit = captureLimit
    }
}

/// How a program ended.
public enum ProgramTermination: Sendable, Hashable {
    case exited(Int32)
    case signaled(Int32)
}

public struct ProgramResult: Sendable, Hashable {
    public var termination: ProgramTermination
    /// nil unless captured.
    public var output: [UInt8]?
    public var error: [UInt8]?
    /// The program's process id, when it ran as a process: qmail-queue's success reply names it
    /// (`qp <pid>`), as qmail-send's log does.
    public var processID: Int32?

    public init(termination: ProgramTermination, output: [UInt8]? = nil, error: [UInt8]? = nil, processID: Int32? = nil) {
        self.termination = termination
        self.output = output
        self.error = error
        self.processID = processID
    }
}

public enum ProgramError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The program could not be started (not found, not executable, no resources).
    case cannotStart(String)
    /// It was still running at the deadline and was killed.
    case timedOut
    /// The invocation asks for something impossible (an fd both fed and captured).
    case invalid(String)
    /// A streamed input failed (the spool could not be read); the program was killed before it
    /// saw end of file, so it cannot take a truncated input for a whole one.
    case inputFailed(String)
    case notConfigured

    public var description: String {
        switch self {
        case .cannotStart(let why): return "cannot start: \(why)"
        case .timedOut: return "did not finish in time; killed"
        case .invalid(let why): return "invalid invocation: \(why)"
        case .inputFailed(let why): return "input failed: \(why)"
        case .notConfigured: return "no program runner is configured for plugins"
        }
    }
}

/// Runs programs for plugins (checkpassword, qmail-queue, filters). The program and everything it
/// starts are killed (SIGKILL) at `deadline` or when the calling task is cancelled, and reaped.
public protocol ProgramRunner: Sendable {
    func run(_ invocation: ProgramInvocation, deadline: ContinuousClock.Instant) async throws -> ProgramResult
}

/// The default when the engine has no runner: says so instead of failing obscurely.
public struct UnconfiguredProgramRunner: ProgramRunner {
    public init() {}
    public func run(_ invocation: ProgramInvocation, deadline: ContinuousClock.Instant) async throws -> ProgramResult {
        throw ProgramError.notConfigured
    }
}
