#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPCore
public import SMTPPluginAPI

/// `relay`: decides at connect whether the client may relay, from `norelayclients`, the
/// `RELAYCLIENT` environment variable, `relayclients` and `morerelayclients` (in that order of
/// precedence). With `only 1` it also answers every recipient: OK for relay clients, DENY otherwise.
public struct Relay: SMTPPlugin {
    private let name: String
    private let logger: Logger
    private let relayClients: IPMatcher
    private let moreRelayClients: IPMatcher
    private let noRelayClients: IPMatcher
    private let only: Bool
    private let environment: @Sendable (String) -> String?

    public init(context: PluginContext) throws {
        try self.init(context: context) { name in getenv(name).map { String(cString: $0) } }
    }

    /// `environment` looks up a variable; tests pass their own.
    init(context: PluginContext, environment: @escaping @Sendable (String) -> String?) throws {
        name = context.instanceName
        logger = context.logger
        self.environment = environment
        relayClients = IPMatcher(entries: context.config.lines("relayclients"))
        // qpsmtpd reads morerelayclients.cdb; we have no CDB reader, so it is a plain list file here.
        moreRelayClients = IPMatcher(entries: context.config.lines("morerelayclients"))
        noRelayClients = IPMatcher(entries: context.config.lines("norelayclients"))
        for (file, matcher) in [("relayclients", relayClients), ("morerelayclients", moreRelayClients), ("norelayclients", noRelayClients)] {
            for entry in matcher.invalidEntries {
                context.logger.warning("\(file): ignoring '\(entry)': not an address, prefix or CIDR block")
            }
        }
        switch context.arguments["only"] {
        case nil, "0": only = false
        case "1": only = true
        case let other?: throw PluginArgumentError("only must be 0 or 1, not '\(other)'")
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            let connection = context.connection
            connection.isRelayClient = isRelayClient(connection.remoteIP)
            return .declined
        }
        if only {
            hooks.onRcpt { context, _, _, _ in
                context.connection.isRelayClient ? .ok() : .deny("relaying denied")
            }
        }
    }

    func isRelayClient(_ ip: String) -> Bool {
        if noRelayClients.matches(ip) {
            // qpsmtpd also deletes RELAYCLIENT from its environment; ours is shared by every
            // connection, so this connection ignores it instead.
            logger.info("fail: \(ip) is in norelayclients")
            return false
        }
        if environment("RELAYCLIENT") != nil {
            logger.info("pass: RELAYCLIENT is set")
            return true
        }
        if IPAddress(ip) == IPAddress.loopbackV6 {
            logger.info("pass: ::1 always relays")
            return true
        }
        if relayClients.matches(ip) {
            logger.info("pass: \(ip) is in relayclients")
            return true
        }
        if moreRelayClients.matches(ip) {
            logger.info("pass: \(ip) is in morerelayclients")
            return true
        }
        logger.debug("skip: \(ip) is not a relay client")
        return false
    }
}
