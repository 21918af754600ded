#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A moment in wall-clock time: seconds since 1970-01-01 UTC.
public struct WallTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var secondsSinceEpoch: Double

    public init(secondsSinceEpoch: Double) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    public static func < (a: WallTime, b: WallTime) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }

    public static func + (time: WallTime, duration: Duration) -> WallTime {
        WallTime(secondsSinceEpoch: time.secondsSinceEpoch + duration.asSeconds)
    }

    public static func - (a: WallTime, b: WallTime) -> Duration {
        .milliseconds(Int64(((a.secondsSinceEpoch - b.secondsSinceEpoch) * 1000).rounded()))
    }

    public var description: String { String(secondsSinceEpoch) }
}

extension Duration {
    /// The duration as a floating-point number of seconds.
    var asSeconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}

/// Time for plugins, so tests can move it (greylisting waits, karma decay, rate windows).
public protocol PluginClock: Sendable {
    var now: WallTime { get }
    func sleep(for duration: Duration) async throws
}

/// The real clock: `clock_gettime(CLOCK_REALTIME)` and `Task.sleep`.
public struct SystemPluginClock: PluginClock {
    public init() {}

    public var now: WallTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return WallTime(secondsSinceEpoch: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
