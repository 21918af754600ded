import Logging
import SMTPPluginAPI

/// A DNS plugin's `config/plugins` arguments — qpsmtpd's `reject`, `reject_type`, `loglevel`,
/// `timeout`, our `dns_failure`, and any of the plugin's own — checked at load, so a typo stops
/// the daemon at its line instead of quietly changing what the plugin does. Then: what the plugin
/// answers when a check fails, and when DNS itself fails.
struct DNSPluginArguments: Sendable {
    /// `reject 0|1|naughty`, the plugin's default when not given.
    var reject: PluginArguments.Reject
    /// `reject_type` (or the legacy positional word), the plugin's default when neither is given.
    var rejectType: PluginArguments.RejectType
    var dnsFailure: DNSFailurePolicy

    /// `legacyRejectType`: an odd number of words means the first is a reject type (qpsmtpd's
    /// `dnsbl disconnect`, `rhsbl disconnect`); otherwise the words are `name value` pairs.
    init(
        _ arguments: PluginArguments, plugin: String, ownKeys: [String] = [], legacyRejectType: Bool = false,
        defaultReject: PluginArguments.Reject, defaultType: PluginArguments.RejectType, defaultDNSFailure: DNSFailurePolicy
    ) throws {
        var words = arguments.words[...]
        var legacyType: PluginArguments.RejectType?
        if words.count % 2 == 1 {
            guard legacyRejectType else {
                throw PluginArgumentError("arguments come as 'name value' pairs; '\(words.last!)' has no value")
            }
            let word = words.removeFirst()
            do {
                legacyType = try PluginArguments(["reject_type", word]).rejectType(default: .perm)
            } catch {
                throw PluginArgumentError("a single word before the pairs is a reject_type (perm, temp, disconnect, temp_disconnect), not '\(word)'")
            }
        }
        // Keys and the common values are checked where every DNS plugin's are.
        let pairs = try KeyValueArguments(PluginArguments(Array(words)), plugin: plugin, known: Set(ownKeys + ["dns_failure"])).arguments
        reject = try pairs.reject(default: defaultReject)
        rejectType = try pairs.rejectType(default: legacyType ?? defaultType)
        dnsFailure = try DNSFailurePolicy(pairs, default: defaultDNSFailure)
    }

    /// A failed check: refuse as `reject` and `reject_type` say (the engine's `reject`, with this
    /// plugin's defaults and its legacy word).
    func refuse(_ context: HookContext, _ message: String, log: String? = nil) -> HookResult {
        context.reject(message, log: log, defaultReject: reject, defaultType: rejectType)
    }

    /// Lookups failed, so nothing is known. `tolerate` logs and lets the client on. `defer` answers
    /// 4xx — whatever `reject_type` says, since a failed lookup proves nothing lasting — keeping
    /// its disconnect; `reject 0` still only logs, and `reject naughty` leaves it to `naughty`.
    func dnsFailed(_ context: HookContext, _ message: String, log: String) -> HookResult {
        let disconnect = rejectType == .disconnect || rejectType == .tempDisconnect
        switch (dnsFailure, reject) {
        case (.tolerate, _), (.defer_, .no):
            context.logger.info("fail, tolerated: \(log)")
            return .declined
        case (.defer_, .naughty):
            context.logger.info("fail, naughty: \(log)")
            context.connection[note: .naughty] = message
            context.connection[note: .naughtyRejectType] = (disconnect ? PluginArguments.RejectType.tempDisconnect : .temp).rawValue
            return .declined
        case (.defer_, .yes):
            context.logger.info("fail, deferred: \(log)")
            return disconnect ? .denySoftDisconnect(message) : .denySoft(message)
        }
    }
}
