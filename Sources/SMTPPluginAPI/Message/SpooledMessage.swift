#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A message body as it arrives: in memory up to a threshold, then in a file under `spool_dir`,
/// so a 50 MB message costs a file, not 50 MB of memory. The file is removed with the transaction.
///
/// Plain POSIX calls rather than NIO's file I/O: plugins read bodies from their own code, which
/// must not depend on NIO, and these are short sequential reads and writes.
public final class SpooledMessage: Sendable {
    public struct SpoolError: Error, CustomStringConvertible {
        public var description: String
    }

    struct State: @unchecked Sendable {  // the descriptor is owned by this object alone
        var memory: [UInt8] = []
        var fd: Int32 = -1
        var path: String?
        var size = 0
        var bodyOffset = 0
    }

    private let state = Mutex(State())
    private let spoolDirectory: String
    private let memoryThreshold: Int
    private static let counter = Atomic<Int>(0)

    public init(spoolDirectory: String, memoryThreshold: Int) {
        self.spoolDirectory = spoolDirectory.hasSuffix("/") ? spoolDirectory : spoolDirectory + "/"
        self.memoryThreshold = memoryThreshold
    }

    deinit {
        state.withLock { Self.removeFile(&$0) }
    }

    /// Octets stored.
    public var size: Int { state.withLock { $0.size } }

    /// Where the body starts, after the header block (set by the session when the header is parsed).
    public var bodyOffset: Int {
        get { state.withLock { $0.bodyOffset } }
        set { state.withLock { $0.bodyOffset = newValue } }
    }

    public var isInMemory: Bool { state.withLock { $0.fd < 0 } }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try state.withLock { state in
            if state.fd < 0 && state.memory.count + bytes.count > memoryThreshold {
                try moveToFile(&state)
            }
            if state.fd >= 0 {
                try Self.writeAll(state.fd, bytes)
            } else {
                state.memory.append(contentsOf: bytes)
            }
            state.size += bytes.count
        }
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Calls `body` with successive chunks from `offset` to the end.
    public func read(from offset: Int = 0, chunkSize: Int = 65_536, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.withLock { state in
            if state.fd < 0 {
                guard offset < state.memory.count else { return }
                try state.memory.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
                return
            }
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            var position = offset
            while position < state.size {
                let n = try chunk.withUnsafeMutableBytes { buf -> Int in
                    let got = pread(state.fd, buf.baseAddress, min(chunkSize, state.size - position), off_t(position))
                    if got < 0 { throw SpoolError(description: "read \(state.path ?? ""): errno \(errno)") }
                    return got
                }
                if n == 0 { break }
                try chunk.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                position += n
            }
        }
    }

    /// Up to `maxCount` bytes at `offset`; empty at the end. Blocking when the message is on disk
    /// (one pread): async code reads through a `SpoolReader` instead.
    public func chunk(at offset: Int, maxCount: Int) throws -> [UInt8] {
        try state.withLock { state in
            guard offset < state.size, maxCount > 0 else { return [] }
            let count = min(maxCount, state.size - offset)
            if state.fd < 0 { return Array(state.memory[offset..<(offset + count)]) }
            var out = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let n = out.withUnsafeMutableBytes { pread(state.fd, $0.baseAddress! + filled, count - filled, off_t(offset + filled)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SpoolError(description: "read \(state.path ?? ""): errno \(errno)")
                }
                if n == 0 { break }
                filled += n
            }
            return Array(out[..<filled])
        }
    }

    /// The whole message from `offset`; for small messages and tests.
    public func bytes(from offset: Int = 0) throws -> [UInt8] {
        var out: [UInt8] = []
        try read(from: offset) { out.append(contentsOf: $0) }
        return out
    }

    /// The spool file's path, moving the message to a file first if it is still in memory
    /// (qpsmtpd's `body_filename`).
    public func filePath() throws -> String {
        try state.withLock { state in
            if state.fd < 0 { try moveToFile(&state) }
            return state.path!
        }
    }

    /// A new, empty message spooled where this one is, with the same memory threshold: for a plugin
    /// that replaces the body (a milter's SMFIR_REPLBODY) without holding it whole in memory.
    public func makeReplacement() -> SpooledMessage {
        SpooledMessage(spoolDirectory: spoolDirectory, memoryThreshold: memoryThreshold)
    }

    /// Removes the spool file now instead of waiting for the transaction to end.
    public func discard() {
        state.withLock {
            Self.removeFile(&$0)
            $0.memory = []
            $0.size = 0
        }
    }

    private func moveToFile(_ state: inout State) throws {
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        let path = "\(spoolDirectory)\(time(nil)):\(getpid()):\(n)"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError(description: "cannot create spool file \(path): errno \(errno)") }
        state.fd = fd
        state.path = path
        if !state.memory.isEmpty {
            try state.memory.withUnsafeBytes { try Self.writeAll(fd, $0) }
            state.memory = []
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SpoolError(description: "write to spool: errno \(errno)")
            }
            offset += n
        }
    }

    private static func removeFile(_ state: inout State) {
        if state.fd >= 0 {
            close(state.fd)
            state.fd = -1
        }
        if let path = state.path {
            unlink(path)
            state.path = nil
        }
    }
}
