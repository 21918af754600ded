import DNSWire
import NIOCore
import NIOPosix
import Synchronization

/// Sends one try of a query: over UDP from a set of sockets, falling back to TCP when the answer
/// comes back truncated. The set holds a few sockets per address family, each on a random port
/// and replaced after a few hundred queries, so a forger must guess the port as well as the id
/// while many queries share each socket.
final class DNSTransport: Sendable {
    static let socketsPerFamily = 8
    static let queriesPerSocket = 256

    private struct Slot {
        var socket: EventLoopFuture<DNSDatagramSocket>
        var queries = 0
    }

    private let group: any EventLoopGroup
    private let slots = Mutex<[NIOBSDSocket.ProtocolFamily: [Slot]]>([:])

    init(group: any EventLoopGroup) {
        self.group = group
    }

    /// The server's response, or `DNSTryError` when this try got none by `deadline`.
    func ask(_ question: DNSQuestion, of server: SocketAddress, until deadline: ContinuousClock.Instant, serverUsable: @escaping @Sendable () -> Bool) async throws -> DNSMessage {
        let nioDeadline = NIODeadline.now() + TimeAmount(ContinuousClock.now.duration(to: deadline))
        let opening = datagramSocket(for: server)
        let socket: DNSDatagramSocket
        do {
            socket = try await opening.get()
        } catch {
            forget(opening, family: server.protocol)
            throw DNSTryError.unusable("cannot open a UDP socket: \(error)")
        }
        let promise = socket.channel.eventLoop.makePromise(of: DNSMessage.self)
        let message = try await withTaskCancellationHandler {
            socket.ask(question, of: server, until: nioDeadline, promise: promise, serverUsable: serverUsable)
            return try await promise.futureResult.get()
        } onCancel: {
            socket.withdraw(promise)
        }
        guard message.header.truncated else { return message }
        // RFC 7766 §5: a truncated answer is asked again over TCP.
        // A cancelled lookup leaves this to end by its deadline: the connection is closed then.
        let whole = try await DNSStreamQuery.ask(question, of: server, until: nioDeadline, group: group).get()
        // Truncated even over TCP: what it holds is not the whole answer, and an empty part of
        // one must not pass for "no such records".
        guard !whole.header.truncated else { throw DNSTryError.unusable("\(server) truncated its answer over TCP too") }
        return whole
    }

    private func datagramSocket(for server: SocketAddress) -> EventLoopFuture<DNSDatagramSocket> {
        let family = server.protocol
        var retired: EventLoopFuture<DNSDatagramSocket>?
        let chosen = slots.withLock { slots -> EventLoopFuture<DNSDatagramSocket> in
            var familySlots = slots[family] ?? []
            if familySlots.count < Self.socketsPerFamily {
                let slot = Slot(socket: DNSDatagramSocket.open(on: group.next(), family: family), queries: 1)
                familySlots.append(slot)
                slots[family] = familySlots
                return slot.socket
            }
            let index = Int.random(in: 0..<familySlots.count)
            familySlots[index].queries += 1
            if familySlots[index].queries > Self.queriesPerSocket {
                retired = familySlots[index].socket
                familySlots[index] = Slot(socket: DNSDatagramSocket.open(on: group.next(), family: family), queries: 1)
            }
            slots[family] = familySlots
            return familySlots[index].socket
        }
        retired?.whenSuccess { $0.retire() }
        return chosen
    }

    /// Ends every query waiting on `server` over UDP (it was found dead meanwhile).
    func abandon(_ server: SocketAddress) {
        let sockets = slots.withLock { $0[server.protocol]?.map(\.socket) ?? [] }
        for socket in sockets {
            socket.whenSuccess { $0.abandon(server) }
        }
    }

    /// Drops a socket that could not be opened, so the next query opens another.
    private func forget(_ socket: EventLoopFuture<DNSDatagramSocket>, family: NIOBSDSocket.ProtocolFamily) {
        slots.withLock { slots in
            slots[family]?.removeAll { $0.socket === socket }
        }
    }
}
