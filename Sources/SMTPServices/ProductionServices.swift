public import NIOCore
public import NIOPosix
public import SMTPPluginAPI

/// Builds the services the daemon hands to plugins.
public enum ProductionServices {
    /// `blocking` is the engine's runner for blocking work (the spool reader uses it too).
    /// DNS stays unconfigured until the resolver exists: DNS plugins then fail with a clear error.
    public static func pluginServices(
        hostName: String,
        blocking: any BlockingWorkRunner,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        storeCapacity: Int = 100_000
    ) -> PluginServices {
        let clock = SystemPluginClock()
        return PluginServices(
            blocking: blocking,
            hostName: hostName,
            dns: UnconfiguredDNSResolver(),
            connector: NIOOutboundConnector(group: group),
            programs: SpawnProgramRunner(group: group),
            store: InMemoryStateStore(capacity: storeCapacity, clock: clock),
            clock: clock,
            spool: BlockingSpoolReader(blocking: blocking))
    }
}
