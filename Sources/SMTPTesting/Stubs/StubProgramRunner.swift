public import SMTPPluginAPI
import Synchronization

/// A program runner that runs nothing: `answer` decides each result (or throws), and every
/// invocation is kept for the test to inspect. Streamed inputs are read to the end, as a program
/// would, and handed to `answer` and kept as byte inputs (`inputs[0]` is the streamed message).
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
        var invocation = invocation
        for (fd, stream) in invocation.streamedInputs {
            var bytes: [UInt8] = []
            do {
                for try await chunk in stream { bytes += chunk }
            } catch {
                throw ProgramError.inputFailed("\(error)")
            }
            invocation.inputs[fd] = bytes
        }
        invocation.streamedInputs = [:]
        seen.withLock { $0.append(invocation) }
        return try answer(invocation)
    }
}
