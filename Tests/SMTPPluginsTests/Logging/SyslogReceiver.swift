#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A syslog daemon's socket, bound by the test: a UNIX datagram socket at a fresh path, never
/// the system's /dev/log. `logging/syslog logsock unix,<path>` sends to it.
final class SyslogReceiver {
    let path: String
    private var fd: Int32 = -1

    init() throws {
        path = "/tmp/qpsmtpd-syslog-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        try bind()
    }

    deinit {
        if fd >= 0 { close(fd) }
        unlink(path)
    }

    /// Binds the socket (again): what a restarted syslog daemon does.
    func bind() throws {
        if fd >= 0 { close(fd) }
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw ReceiverError(errno: errno) }
    }

    /// The next datagram, or nil when none arrives within `milliseconds`.
    func receive(milliseconds: Int32 = 2000) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    struct ReceiverError: Error { var errno: Int32 }
}
