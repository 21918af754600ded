#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SMTPPluginAPI
import SMTPServices
import SMTPTesting
import Synchronization
import Testing

/// `ProgramInvocation.streamedInputs` through the real runner: large inputs in flat memory,
/// programs that stop reading, inputs that fail.
@Suite(.serialized) struct StreamedProgramInputTests {
    let runner = SpawnProgramRunner()

    func deadline(_ duration: Duration = .seconds(60)) -> ContinuousClock.Instant { .now.advanced(by: duration) }

    func sh(_ script: String, streams: [Int32: ProgramInputStream], inputs: [Int32: [UInt8]] = [:]) -> ProgramInvocation {
        ProgramInvocation("/bin/sh", arguments: ["-c", script], inputs: inputs, streamedInputs: streams, captureOutput: true)
    }

    @Test func fiftyMegabytesInFlatMemory() async throws {
        let peak = Mutex<Int>(0)
        let before = Self.residentBytes()
        let chunks = GeneratedChunks(count: 800, size: 65_536) { peak.withLock { $0 = max($0, Self.residentBytes()) } }
        let result = try await runner.run(sh("wc -c", streams: [0: ProgramInputStream(chunks)]), deadline: deadline())
        #expect(result.termination == .exited(0))
        #expect(String(decoding: result.output ?? [], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "52428800")
        let growth = peak.withLock { $0 } - before
        print("streamed 50 MB: resident set grew by \(growth / 1024) KiB (from \(before / 1024) KiB)")
        // Holding the input whole would add 50 MB or more.
        #expect(growth < 16 << 20)
    }

    @Test func bytesArriveInOrderWhole() async throws {
        // Uneven chunks on descriptor 0, a byte input on 1 (qmail-queue's layout).
        let chunks = GeneratedChunks(count: 300, size: 7_001)
        let both = try await runner.run(
            ProgramInvocation(
                "/bin/sh", arguments: ["-c", "cat <&1 >&2; echo >&2; wc -c >&2"], inputs: [1: Array("envelope".utf8)],
                streamedInputs: [0: ProgramInputStream(chunks)], captureError: true),
            deadline: deadline())
        #expect(both.termination == .exited(0))
        #expect(String(decoding: both.error ?? [], as: UTF8.self) == "envelope\n2100300\n")
        var expected: [UInt8] = []
        for try await chunk in chunks { expected += chunk }
        var invocation = sh("cat", streams: [0: ProgramInputStream(chunks)])
        invocation.captureLimit = 4 << 20
        let output = try await runner.run(invocation, deadline: deadline()).output ?? []
        #expect(output.count == expected.count)
        #expect(output == expected, "first difference at \(zip(output, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
    }

    @Test func programExitingWithoutReading() async throws {
        let start = ContinuousClock.now
        let result = try await runner.run(sh("exit 7", streams: [0: ProgramInputStream(GeneratedChunks(count: 800, size: 65_536))]), deadline: deadline())
        #expect(result.termination == .exited(7))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func programClosingItsEndEarly() async throws {
        // Reads a little, closes descriptor 0, then carries on: our writes fail with EPIPE, quietly.
        let result = try await runner.run(
            sh("head -c 10 >/dev/null; exec 0<&-; sleep 0.3; echo done", streams: [0: ProgramInputStream(GeneratedChunks(count: 800, size: 65_536))]),
            deadline: deadline())
        #expect(result.termination == .exited(0))
        #expect(result.output == Array("done\n".utf8))
    }

    @Test func failingInputKillsTheProgramBeforeEndOfFile() async throws {
        let dir = TemporaryDirectory.make(prefix: "streamed")
        // Were the pipe merely closed, wc would count what it got and the file would appear.
        let chunks = GeneratedChunks(count: 100, size: 65_536, failAfter: 20)
        await #expect {
            try await runner.run(sh("wc -c > \(dir)/count", streams: [0: ProgramInputStream(chunks)]), deadline: deadline())
        } throws: { error in
            if case ProgramError.inputFailed = error { return true }
            return false
        }
        let count = try? String(contentsOfFile: dir + "/count", encoding: .utf8)
        #expect(count == nil || count == "")
    }

    @Test func deadlineWhileNobodyReads() async throws {
        // A program that neither reads nor exits: killed at the deadline, the feeder released.
        let start = ContinuousClock.now
        await #expect(throws: ProgramError.timedOut) {
            try await runner.run(sh("exec sleep 30", streams: [0: ProgramInputStream(GeneratedChunks(count: 800, size: 65_536))]), deadline: deadline(.milliseconds(500)))
        }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func descriptorBothFedAndStreamed() async throws {
        await #expect(throws: ProgramError.invalid("a descriptor both fed bytes and streamed")) {
            try await runner.run(sh("true", streams: [0: ProgramInputStream(GeneratedChunks(count: 1, size: 1))], inputs: [0: []]), deadline: deadline())
        }
    }

    @Test func stubReadsStreamsAsBytes() async throws {
        let stub = StubProgramRunner()
        _ = try await stub.run(sh("true", streams: [0: ProgramInputStream(GeneratedChunks(count: 3, size: 5))]), deadline: deadline())
        #expect(stub.invocations.first?.inputs[0]?.count == 15)
        #expect(stub.invocations.first?.streamedInputs.isEmpty == true)
    }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// `count` chunks of `size` bytes, chunk n filled with n mod 256; throws after `failAfter`.
struct GeneratedChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    struct GenerationFailed: Error {}
    let count: Int
    let size: Int
    var failAfter: Int? = nil
    var onChunk: @Sendable () -> Void = {}

    struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: GeneratedChunks
        var index = 0

        mutating func next() async throws -> [UInt8]? {
            guard index < sequence.count else { return nil }
            if let failAfter = sequence.failAfter, index >= failAfter { throw GenerationFailed() }
            sequence.onChunk()
            // One byte value per chunk: cheap to make, and a lost or misplaced chunk shows.
            let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: sequence.size)
            index += 1
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}
