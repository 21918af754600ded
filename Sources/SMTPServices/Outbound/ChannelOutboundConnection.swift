import NIOCore
import NIOSSL
import SMTPPluginAPI
import Synchronization

/// An `OutboundConnection` over a NIO channel. Each call runs under a timer that closes the
/// channel at the deadline and a cancellation handler that closes it on cancel: closing wakes
/// any wait (read, write, handshake), which then reports why.
final class ChannelOutboundConnection: OutboundConnection {
    private let channel: any Channel
    private let inbound: InboundBytes
    private let host: String?
    private let deadline: ContinuousClock.Instant
    private let tlsContexts: ClientTLSContexts
    private let timedOut = Atomic<Bool>(false)

    init(channel: any Channel, inbound: InboundBytes, host: String?, deadline: ContinuousClock.Instant, tlsContexts: ClientTLSContexts) {
        self.channel = channel
        self.inbound = inbound
        self.host = host
        self.deadline = deadline
        self.tlsContexts = tlsContexts
    }

    deinit {
        channel.close(promise: nil)
    }

    func readLineBytes(maxLength: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        try await bounded(by: deadline) { [inbound] in
            try await inbound.wait { state -> [UInt8]? in
                if let newline = state.bytes[state.start...].firstIndex(of: 10) {
                    var line = state.take(newline - state.start + 1)
                    line.removeLast()
                    if line.last == 13 { line.removeLast() }
                    guard line.count <= maxLength else { throw OutboundError.lineTooLong(maxLength) }
                    return line
                }
                // A CR may still be followed by its LF: it does not count towards the limit yet.
                guard state.available <= maxLength + 1 else { throw OutboundError.lineTooLong(maxLength) }
                try state.checkEnded()
                return nil
            }
        }
    }

    func read(exactly count: Int, deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        guard count > 0 else { return [] }
        return try await bounded(by: deadline) { [inbound] in
            try await inbound.wait { state -> [UInt8]? in
                if state.available >= count { return state.take(count) }
                try state.checkEnded()
                return nil
            }
        }
    }

    func readAvailable(deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        try await bounded(by: deadline) { [inbound] in
            try await inbound.wait { state -> [UInt8]? in
                if state.available > 0 { return state.take(state.available) }
                if let failure = state.failure { throw failure }
                return state.ended ? [] : nil
            }
        }
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant?) async throws {
        try await bounded(by: deadline) { [channel] in
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        }
    }

    func startTLS(_ tls: OutboundTLS, deadline: ContinuousClock.Instant?) async throws {
        let context = try tlsContexts.context(for: tls)
        let serverName = ClientTLSContexts.serverName(tls, host: host)
        inbound.discardUnread()
        try await bounded(by: deadline) { [channel] in
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        }
        try await awaitHandshake(deadline: deadline)
    }

    func awaitHandshake(deadline: ContinuousClock.Instant?) async throws {
        _ = try await bounded(by: deadline) { [inbound] in
            try await inbound.wait { state -> Bool? in
                if state.tlsEstablished { return true }
                try state.checkEnded()
                return nil
            }
        }
    }

    func close() async {
        try? await channel.close().get()
    }

    /// Runs `body` until the earlier of `callDeadline` and the connection's deadline.
    private func bounded<R: Sendable>(by callDeadline: ContinuousClock.Instant?, _ body: @Sendable () async throws -> R) async throws -> R {
        let limit = callDeadline.map { min($0, deadline) } ?? deadline
        let remaining = ContinuousClock.now.duration(to: limit)
        guard remaining > .zero else {
            timedOut.store(true, ordering: .relaxed)
            channel.close(promise: nil)
            throw OutboundError.timedOut
        }
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(remaining)) { [self] in
            timedOut.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try Task.checkCancellation()
                return try await body()
            } onCancel: { [channel] in
                channel.close(promise: nil)
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if timedOut.load(ordering: .relaxed) { throw OutboundError.timedOut }
            switch error {
            case let error as OutboundError: throw error
            case let error as NIOSSLError: throw OutboundError.tls("\(error)")
            case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.eof: throw OutboundError.closed
            default: throw error
            }
        }
    }
}
