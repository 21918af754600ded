public import SMTPPluginAPI

/// The plugins this package ships, under the names `config/plugins` uses.
public enum BuiltInPlugins {
    public static let all: [(name: String, type: any SMTPPlugin.Type)] = [
        ("relay", Relay.self),
        ("rcpt_ok", RcptOK.self),
        ("queue/maildir", MaildirQueue.self),
        ("count_unrecognized_commands", CountUnrecognizedCommands.self),
        ("dont_require_anglebrackets", DontRequireAngleBrackets.self),
        ("logging/warn", WarnLogger.self),
    ]
}

/// Every hook a plugin type may register (with some arguments it registers fewer), so a test can
/// hold each plugin's `register(into:)` to its declaration.
protocol DeclaresHooks {
    static var registeredHooks: [HookPoint] { get }
}

extension Relay: DeclaresHooks {}
extension RcptOK: DeclaresHooks {}
extension MaildirQueue: DeclaresHooks {}
extension CountUnrecognizedCommands: DeclaresHooks {}
extension DontRequireAngleBrackets: DeclaresHooks {}
extension WarnLogger: DeclaresHooks {}
