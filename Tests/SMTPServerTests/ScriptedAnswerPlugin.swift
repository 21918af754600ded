#if canImport(Glibc)
import Glibc
#endif
import SMTPCore
import SMTPDaemon
import SMTPPluginAPI
import SMTPTesting

/// `test/answer HOOK RESULT [message...]`: answers RESULT (ok, deny, denysoft, deny_disconnect,
/// denysoft_disconnect, declined, throw, hang, block) at HOOK. Lets a test force any result at any hook.
struct ScriptedAnswerPlugin: SMTPPlugin {
    struct Failure: Error {}

    let hook: HookPoint
    let answer: String
    let message: String?

    init(context: PluginContext) throws {
        let words = context.arguments.words
        guard words.count >= 2, let hook = HookPoint(rawValue: words[0]) else { throw PluginArgumentError("usage: HOOK RESULT [message]") }
        self.hook = hook
        answer = words[1]
        message = words.count > 2 ? words.dropFirst(2).joined(separator: " ") : nil
    }

    func register(into hooks: inout HookRegistry) {
        let answer = self.answer, message = self.message
        hooks.register(hook, .async { _, _ in
            switch answer {
            case "ok": return .ok(message)
            case "deny": return .deny(message)
            case "denysoft": return .denySoft(message)
            case "deny_disconnect": return .denyDisconnect(message)
            case "denysoft_disconnect": return .denySoftDisconnect(message)
            case "throw": throw Failure()
            case "hang":
                try await Task.sleep(for: .seconds(3600))
                return .declined
            case "block":
                // Blocks its thread, ignoring time and cancellation (a plugin calling a slow C library).
                sleep(30)
                return .declined
            default: return .declined
            }
        })
    }
}

extension PluginRegistry {
    /// SMTPTesting's registry plus this target's scripted plugins.
    static var scripted: PluginRegistry {
        var registry = PluginRegistry.testing
        registry.register(ScriptedAnswerPlugin.self, as: "test/answer")
        registry.register(Sleeper.self, as: "test/sleeper")
        return registry
    }
}
