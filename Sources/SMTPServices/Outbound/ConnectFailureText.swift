#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Why a connect failed, in the words an administrator reads in a reply or a log
/// ("Connection refused"), not NIO's nested error values with their field names.
enum ConnectFailureText {
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let failure = error as? NIOConnectionError {
            // One entry per address tried; usually one address, or the same reason for each.
            var reasons: [String] = []
            if let dns = failure.dnsAError ?? failure.dnsAAAAError { reasons.append("cannot resolve host: \(describe(dns))") }
            for attempt in failure.connectionErrors {
                let reason = describe(attempt.error)
                if !reasons.contains(reason) { reasons.append(reason) }
            }
            return reasons.isEmpty ? "no address to connect to" : reasons.joined(separator: "; ")
        }
        return "\(error)"
    }
}
