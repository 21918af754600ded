import SMTPPluginAPI
public struct AuthIMAP: SMTPPlugin {
    public static let registeredHooks: [HookPoint] = [.authPlain, .authLogin]
    public init(context: PluginContext) throws {}
    public func register(into hooks: inout HookRegistry) {}
}
