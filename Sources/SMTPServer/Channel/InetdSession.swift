#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore
public import NIOPosix
import SMTPPluginAPI

/// One session on standard input and output, for tcpserver, xinetd and systemd `Accept=yes`.
/// A socket on fd 0 is used as a socket (so the peer's address is known); pipes work too.
public enum InetdSession {
    public static func run(environment: SessionEnvironment, processEnvironment: [String: String], implicitTLS: Bool = false, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        let channel: ChannelSession.AsyncSMTPChannel
        if isSocket(0) {
            channel = try await ClientBootstrap(group: group).channelOption(.allowRemoteHalfClosure, value: true).withConnectedSocket(0) { channel in
                channel.eventLoop.makeCompletedFuture { try ChannelSession.configure(channel, environment: environment, implicitTLS: implicitTLS) }
            }
        } else {
            channel = try await NIOPipeBootstrap(group: group).channelOption(.allowRemoteHalfClosure, value: true).takingOwnershipOfDescriptors(input: 0, output: 1) { channel in
                channel.eventLoop.makeCompletedFuture { try ChannelSession.configure(channel, environment: environment, implicitTLS: implicitTLS) }
            }
        }
        let remote = channel.channel.remoteAddress
        let local = channel.channel.localAddress
        // tcpserver's variables win over the socket: behind a proxy or a socket pair they are the truth.
        let connection = Connection(
            id: SessionIDs.next(),
            remoteIP: processEnvironment["TCPREMOTEIP"] ?? remote?.ipAddress ?? "0.0.0.0",
            remotePort: processEnvironment["TCPREMOTEPORT"].flatMap { Int($0) } ?? remote?.port ?? 0,
            localIP: processEnvironment["TCPLOCALIP"] ?? local?.ipAddress ?? "0.0.0.0",
            localPort: processEnvironment["TCPLOCALPORT"].flatMap { Int($0) } ?? local?.port ?? 0,
            remoteHost: processEnvironment["TCPREMOTEHOST"].flatMap { sanitizedHost($0) },
            remoteInfo: remoteInfo(processEnvironment))
        await ChannelSession.run(channel, connection: connection, environment: environment)
    }

    static func isSocket(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    /// `TCPREMOTEINFO@host` when ident answered, as qpsmtpd writes it in Received.
    static func remoteInfo(_ env: [String: String]) -> String? {
        guard let host = env["TCPREMOTEHOST"].flatMap(sanitizedHost) ?? env["TCPREMOTEIP"].map({ "[\($0)]" }) else { return nil }
        if let info = env["TCPREMOTEINFO"], !info.isEmpty { return "\(sanitizedHost(info) ?? "")@\(host)" }
        return host
    }

    /// Only host-name characters from the environment reach our headers (qpsmtpd does the same).
    static func sanitizedHost(_ value: String) -> String? {
        let kept = String(value.unicodeScalars.filter { $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ".-[]:".unicodeScalars.contains($0) })
        return kept.isEmpty ? nil : kept
    }
}
