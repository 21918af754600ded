public import SMTPPluginAPI
import Synchronization

/// A program runner that runs nothing: `answer` decides each result (or throws), and every
/// invocation is kept for the test to inspect.
///
///     let programs = StubProgramRunner { invocation in
///         ProgramResult(termination: .exited(invocation.inputs[3]?.starts(with: Array("good".utf8)) == true ? 0 : 1))
///     }
public final class StubProgramRunner: ProgramRunner {
    private let answer: @Sendable (ProgramInvocation) throws -> ProgramResult
    private let seen = Mutex<[ProgramInvocation]>([])

    public init(answer: @escaping @Sendable (ProgramInvocation) throws -> ProgramResult = { _ in ProgramResult(termination: .exited(0)) }) {
        self.answer = answer
    }

    public var invocations: [ProgramInvocation] { seen.withLock { $0 } }

    public func run(_ invocation: ProgramInvocation, deadline: ContinuousClock.Instant) async throws -> ProgramResult {
        seen.withLock { $0.append(invocation) }
        return try answer(invocation)
    }
}
