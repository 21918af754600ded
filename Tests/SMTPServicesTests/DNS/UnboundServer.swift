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
    init(zones: [String], records: [String]) async throws {
        directory = TemporaryDirectory.make(prefix: "unbound")
        // Another test may take the port between our check and unbound's bind: try elsewhere.
        var attempt = 0
        while true {
            let host = "127.0.\(Int.random(in: 1...250)).\(Int.random(in: 2...250))"
            let port = try await Self.freePort(host: host)
            let process = try Self.start(host: host, port: port, zones: zones, records: records, directory: directory)
            do {
                try await Self.waitUntilListening(process, host: host, port: port, directory: directory)
                (self.host, self.port, self.process) = (host, port, process)
                return
            } catch UnboundError.exited(_, let log) where log.contains("address already in use") && attempt < 5 {
                attempt += 1
            }
        }
    }

    private static func start(host: String, port: Int, zones: [String], records: [String], directory: String) throws -> Process {
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
            // Single quotes outside, so TXT strings keep their double quotes.
            config += "  local-data: '\(record)'\n"
        }
        config += "remote-control:\n  control-enable: no\n"
        let path = directory + "/unbound.conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/unbound")
        process.arguments = ["-d", "-c", path]
        process.standardOutput = FileHandle.nullDevice
        // unbound logs to stderr with `logfile: ""`; kept so a failed start says why.
        _ = FileManager.default.createFile(atPath: directory + "/stderr", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr")
        try process.run()
        return process
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
    private static func waitUntilListening(_ process: Process, host: String, port: Int, directory: String) async throws {
        for _ in 0..<200 {
            guard process.isRunning else {
                throw UnboundError.exited(process.terminationStatus, TemporaryDirectory.read(directory + "/stderr") ?? "")
            }
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw UnboundError.notListening
    }

    /// A port free on `host` for both UDP and TCP right now: the kernel picks one for UDP, and
    /// TCP must be free on it too.
    static func freePort(host: String) async throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        for _ in 0..<50 {
            let udp = try await DatagramBootstrap(group: group).bind(host: host, port: 0).get()
            let port = udp.localAddress!.port!
            let tcp = try? await ServerBootstrap(group: group).bind(host: host, port: port).get()
            try? await tcp?.close()
            try? await udp.close()
            if tcp != nil { return port }
        }
        throw UnboundError.noFreePort
    }

    enum UnboundError: Error {
        case exited(Int32, String)
        case notListening
        case noFreePort
    }
}
