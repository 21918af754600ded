#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A connected UNIX datagram socket to the local syslog daemon (`/dev/log` or another path),
/// one datagram per message as syslog(3) sends them. When the daemon restarts, its socket is
/// new: a failed send connects again once and retries; a message that still fails is dropped,
/// as syslog(3) drops it (logging must never hold up a session).
final class SyslogSocket: Sendable {
    let path: String
    private let descriptor = Mutex<Int32>(-1)
    /// rsyslog's and syslog-ng's default largest message; longer ones are cut, not lost.
    static let maximumDatagram = 8192

    init(path: String) throws {
        self.path = path
        try descriptor.withLock { fd in
            fd = try Self.connect(path)
        }
    }

    deinit {
        descriptor.withLock { if $0 >= 0 { close($0) } }
    }

    /// Sends one datagram; false when it could not be delivered even after reconnecting.
    @discardableResult
    func send(_ message: String) -> Bool {
        var bytes = Array(message.utf8.prefix(Self.maximumDatagram))
        return descriptor.withLock { (fd: inout Int32) -> Bool in
            for attempt in 0..<2 {
                if fd < 0 || attempt > 0 {
                    if fd >= 0 { close(fd) }
                    fd = (try? Self.connect(path)) ?? -1
                    if fd < 0 { return false }
                }
                let sent = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent == bytes.count { return true }
            }
            return false
        }
    }

    private static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FileLoggerError("syslog socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw FileLoggerError("syslog socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw FileLoggerError("cannot connect to syslog socket \(path): \(reason)")
        }
        return fd
    }
}
