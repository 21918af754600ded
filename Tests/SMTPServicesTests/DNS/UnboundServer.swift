#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import NIOPosix
import SMTPTesting

/// A real recursive server for the resolver's tests: Debian's unbound, started on a loopback
/// address and a free port, answering only from the records the test gives (every other name is
/// NXDOMAIN from a static root zone, so nothing is ever asked of the internet).
final class UnboundServer {
    let host: String
    let port: Int
    let directory: String
    private let process: Process

    var address: SocketAddress { try! SocketAddress(ipAddress: host, port: port) }

    /// `zones` are served statically (negative answers carry their SOA); `records` are unbound
    /// `local-data` lines such as `"a.test. 300 IN A 192.0.2.1"`.
    init(zones: [String], records: [String]) throws {
        directory = TemporaryDirectory.make(prefix: "unbound")
        host = "127.0.\(Int.random(in: 1...250)).\(Int.random(in: 2...250))"
        port = try Self.freePort(host: host)
        var config = """
        server:
          interface: \(host)
          port: \(port)
          do-ip6: no
          do-daemonize: no
          username: ""
          chroot: ""
          directory: "\(directory)"
          pidfile: "\(directory)/unbound.pid"
          use-syslog: no
          logfile: ""
          verbosity: 0
          num-threads: 1
          access-control: 127.0.0.0/8 allow
          module-config: "iterator"
          local-zone: "." static

        """
        for zone in zones {
            config += "  local-zone: \"\(zone).\" static\n"
            config += "  local-data: \"\(zone). 3600 IN SOA ns.\(zone). hostmaster.\(zone). 1 3600 600 86400 60\"\n"
        }
        for record in records {
            config += "  local-data: \"\(record.replacingOccurrences(of: "\"", with: "\\\""))\"\n"
        }
        config += "remote-control:\n  control-enable: no\n"
        let path = directory + "/unbound.conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/unbound")
        process.arguments = ["-d", "-c", path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try waitUntilListening()
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// unbound answers on TCP once it answers on UDP; a TCP connect is the simplest probe.
    private func waitUntilListening() throws {
        for _ in 0..<200 {
            guard process.isRunning else { throw UnboundError.exited(process.terminationStatus) }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            usleep(50_000)
        }
        throw UnboundError.notListening
    }

    /// A port free on `host` for both UDP and TCP right now.
    static func freePort(host: String) throws -> Int {
        for _ in 0..<50 {
            let port = Int.random(in: 20_000...60_000)
            if isFree(host: host, port: port, type: Int32(SOCK_DGRAM.rawValue)) && isFree(host: host, port: port, type: Int32(SOCK_STREAM.rawValue)) {
                return port
            }
        }
        throw UnboundError.noFreePort
    }

    private static func isFree(host: String, port: Int, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    enum UnboundError: Error {
        case exited(Int32)
        case notListening
        case noFreePort
    }
}
