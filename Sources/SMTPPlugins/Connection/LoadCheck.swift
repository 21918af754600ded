#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI
import Synchronization

/// `loadcheck [max_load N] [cache_time S] [loadavg PATH]`: at connect, refuses every client
/// while the 1-minute load average is above `max_load` (default 7) with
/// `Server load too high, please try again later.` (DENYSOFT: 421 and close). The load is read
/// from `/proc/loadavg` (or `loadavg PATH`) at most once per `cache_time` seconds (default 10).
/// qpsmtpd's `uptime` argument (its fallback command where no loadavg file exists) is accepted
/// and not used.
public struct LoadCheck: SMTPPlugin {
    static let message = "Server load too high, please try again later."

    private let maxLoad: Double
    private let cacheTime: Double
    private let path: String
    private let cache = LoadCache()

    public init(context: PluginContext) throws {
        let arguments = try KeyValueArguments(context.arguments, plugin: "loadcheck", known: ["max_load", "cache_time", "uptime", "loadavg"])
        maxLoad = try Self.number(arguments["max_load"], name: "max_load", default: 7)
        cacheTime = try Self.number(arguments["cache_time"], name: "cache_time", default: 10)
        path = arguments["loadavg"] ?? "/proc/loadavg"
        if Self.readLoad(path) == nil {
            throw PluginArgumentError("loadcheck cannot read the load average from \(path)")
        }
    }

    private static func number(_ text: String?, name: String, default fallback: Double) throws -> Double {
        guard let text else { return fallback }
        guard let value = Double(text), value >= 0, value.isFinite else {
            throw PluginArgumentError("\(name) must be a number of at least 0, not '\(text)'")
        }
        return value
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            let now = context.services.clock.now.secondsSinceEpoch
            // procfs answers from memory: reading it inline does not block the session.
            guard let load = cache.load(at: now, maxAge: cacheTime, read: { Self.readLoad(path) }) else {
                context.logger.warning("cannot read \(path); not checking the load")
                return .declined
            }
            guard load > maxLoad else {
                context.logger.debug("pass, load \(load)")
                return .declined
            }
            context.logger.error("local load too high: \(load)")
            return .denySoft(Self.message)
        }
    }

    /// The first number of a loadavg file (`0.52 0.58 0.59 1/467 12345`).
    static func readLoad(_ path: String) -> Double? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 128)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: bytes[..<n], as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.flatMap { Double($0) }
    }
}

/// The last load read and when, shared by every connection of one loaded plugin.
final class LoadCache: Sendable {
    private let state = Mutex<(load: Double, readAt: Double)?>(nil)

    func load(at now: Double, maxAge: Double, read: () -> Double?) -> Double? {
        if let cached = state.withLock({ $0 }), now <= cached.readAt + maxAge { return cached.load }
        guard let fresh = read() else { return nil }
        state.withLock { $0 = (fresh, now) }
        return fresh
    }
}
