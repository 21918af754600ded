#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `logging/file` path with strftime(3) conversions in local time (`qpsmtpd.log.%Y-%m-%d`)
/// and qpsmtpd's `%i`, the session id, which gives each connection a file of its own (records
/// outside any connection use `parent`, as qpsmtpd does).
struct LogPathPattern: Sendable {
    let pattern: String

    /// Whether each connection gets its own file.
    var isPerConnection: Bool { conversions.contains("i") }

    private var conversions: [Character] {
        var found: [Character] = []
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            if c == "%", let next = iterator.next() { found.append(next) }
        }
        return found
    }

    /// The file name for a record made at `seconds` in connection `connectionID`.
    func expand(seconds: Int, connectionID: String?) -> String {
        // %i first, with any % in the id doubled so strftime leaves it alone; %% stays for strftime.
        var withID = ""
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            guard c == "%", let next = iterator.next() else { withID.append(c); continue }
            if next == "i" {
                withID += (connectionID ?? "parent").replacingOccurrences(of: "%", with: "%%")
            } else {
                withID.append(c)
                withID.append(next)
            }
        }
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = strftime(&buffer, buffer.count, withID, &parts)
        // strftime gives 0 for an empty result or one too long; the pattern then stands as written.
        guard count > 0 else { return withID }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
