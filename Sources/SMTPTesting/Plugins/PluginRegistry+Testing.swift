public import SMTPDaemon

extension PluginRegistry {
    /// The built-in plugins plus those made for tests: `test/capture` (`CapturedMail`).
    public static var testing: PluginRegistry {
        var registry = PluginRegistry.builtIn
        registry.register(CapturingQueue.self, as: "test/capture")
        return registry
    }
}
