public import SMTPPluginAPI

/// `relay_only`: qpsmtpd's old plugin that let only relay clients send, which `relay only 1`
/// replaced. Kept as that line so an old `config/plugins` works unchanged.
public struct RelayOnly: SMTPPlugin {
    private let relay: Relay

    public init(context: PluginContext) throws {
        var context = context
        context.arguments = PluginArguments(["only", "1"] + context.arguments.words)
        relay = try Relay(context: context)
    }

    public func register(into hooks: inout HookRegistry) {
        relay.register(into: &hooks)
    }
}
