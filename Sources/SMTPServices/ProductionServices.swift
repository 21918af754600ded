public import NIOCore
public import NIOPosix
public import SMTPPluginAPI

/// Builds the services the daemon hands to plugins.
public enum ProductionServices {
    /// `blocking` is the engine's runner for blocking work (the spool reader uses it too).
    /// `dns` defaults to a resolver that refuses every lookup: the daemon sets each config load's
    /// `NIODNSResolver` (its servers and timeout) over the process's `DNSResolverCore`.
    /// `store` defaults to one in memory; the daemon passes its `SQLiteStateStore`.
    public static func pluginServices(
        hostName: String,
        blocking: any BlockingWorkRunner,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        storeCapacity: Int = 100_000,
        dns: any DNSResolver = UnconfiguredDNSResolver(),
        store: (any StateStore)? = nil,
        clock: any PluginClock = SystemPluginClock()
    ) -> PluginServices {
        return PluginServices(
            blocking: blocking,
            hostName: hostName,
            dns: dns,
            connector: NIOOutboundConnector(group: group),
            programs: SpawnProgramRunner(group: group),
            store: store ?? InMemoryStateStore(capacity: storeCapacity, clock: clock),
            clock: clock,
            spool: BlockingSpoolReader(blocking: blocking))
    }
}
