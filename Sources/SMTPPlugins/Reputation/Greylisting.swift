import Logging
import SMTPCore
public import SMTPPluginAPI

/// `greylisting` (qpsmtpd's plugins/greylisting, RFC 6647): a client, sender and recipient
/// combination (the "triplet": `remote_ip 1`, `sender 0`, `recipient 0` choose its parts) seen
/// for the first time is refused with `450 This mail is temporarily denied`. A retry after
/// `black_timeout` (3000 s) and within `grey_timeout` (3 h 20 min) of the first try is accepted
/// and whitelists the triplet for `white_timeout` (36 days, renewed by each delivery); retries
/// before `black_timeout` are refused again. The refusal comes at MAIL, or at RCPT with
/// `recipient 1` or `per_recipient 1` (a null sender is then refused at DATA, so address probes
/// still work), or at DATA with `deny_late 1`. `reject 0` records but never refuses (qpsmtpd's
/// `mode testonly`); `reject naughty` leaves it to the naughty plugin. Immune clients (relay,
/// whitelisted host or sender) and clients in the `greylist_exclude_files` lists are skipped.
/// Settings may also come from config `denysoft_greylist` (`key value` lines; the plugin line wins).
///
/// State: `greylisting:<triplet>` in the engine's store, `first:tries:blocked:deliveries` (times
/// in whole seconds from `services.clock`), expiring when the triplet would time out anyway.
/// qpsmtpd's `db_dir`, `redis` and `nfslock` are accepted and ignored: the store is the engine's
/// (config `state_dir`). `per_recipient` has no per-recipient config here (no `user_config`
/// hook), so it only moves the check to RCPT; `p0f` and `geoip` need plugins we lack and are refused.
public struct Greylisting: SMTPPlugin {
    struct Settings: Sendable, Equatable {
        var remoteIP = true
        var sender = false
        var recipient = false
        var perRecipient = false
        var denyLate = false
        var blackTimeout = 50 * 60
        var greyTimeout = 3 * 3600 + 20 * 60
        var whiteTimeout = 36 * 24 * 3600
    }

    static let message = "This mail is temporarily denied"
    static let note = NoteKey<String>("denysoft_greylist")
    private static let flags: Set<String> = ["remote_ip", "sender", "recipient", "per_recipient", "deny_late"]
    private static let timeouts: Set<String> = ["black_timeout", "grey_timeout", "white_timeout"]
    private static let ignored: Set<String> = ["db_dir", "redis", "nfslock", "upgrade", "per_recipient_db"]
    private static let common: Set<String> = ["reject", "reject_type", "loglevel", "timeout", "mode"]

    let settings: Settings
    private let exclusions: GreylistExclusions
    private let logger: Logger

    public init(context: PluginContext) throws {
        var pairs: [(String, String)] = []
        for entry in context.config.entries("denysoft_greylist") {
            let words = entry.text.split(whereSeparator: \.isWhitespace).map(String.init)
            guard words.count == 2 else {
                throw PluginArgumentError("\(entry.file):\(entry.lineNumber): denysoft_greylist lines are 'key value'")
            }
            pairs.append((words[0], words[1]))
        }
        let words = context.arguments.words
        guard words.count % 2 == 0 else {
            throw PluginArgumentError("greylisting takes 'key value' pairs; '\(words.last ?? "")' has no value")
        }
        for index in stride(from: 0, to: words.count, by: 2) { pairs.append((words[index], words[index + 1])) }
        settings = try Self.settings(from: pairs)
        _ = try context.arguments.reject(default: .yes)
        _ = try context.arguments.rejectType(default: .temp)
        exclusions = try GreylistExclusions(config: context.config)
        logger = context.logger
        for (key, _) in pairs where Self.ignored.contains(key) {
            context.logger.notice("'\(key)' is ignored: greylisting keeps its state in the engine's store (config state_dir)")
        }
    }

    static func settings(from pairs: [(String, String)]) throws -> Settings {
        var settings = Settings()
        for (key, value) in pairs {
            if flags.contains(key) {
                guard let flag = Int(value), flag == 0 || flag == 1 else {
                    throw PluginArgumentError("greylisting: \(key) must be 0 or 1, not '\(value)'")
                }
                switch key {
                case "remote_ip": settings.remoteIP = flag == 1
                case "sender": settings.sender = flag == 1
                case "recipient": settings.recipient = flag == 1
                case "per_recipient": settings.perRecipient = flag == 1
                default: settings.denyLate = flag == 1
                }
            } else if timeouts.contains(key) {
                guard let seconds = Int(value), seconds >= 0 else {
                    throw PluginArgumentError("greylisting: \(key) must be a whole number of seconds, not '\(value)'")
                }
                switch key {
                case "black_timeout": settings.blackTimeout = seconds
                case "grey_timeout": settings.greyTimeout = seconds
                default: settings.whiteTimeout = seconds
                }
            } else if key == "p0f" || key == "geoip" {
                throw PluginArgumentError("greylisting: '\(key)' needs the \(key == "p0f" ? "ident/p0f" : "ident/geoip") plugin, which is not supported")
            } else if key == "mode" && value != "denysoft" {
                throw PluginArgumentError("greylisting: mode '\(value)' is gone; use 'reject 0' to record without refusing")
            } else if !ignored.contains(key) && !common.contains(key) {
                let known = flags.union(timeouts).union(ignored).union(common).sorted().joined(separator: ", ")
                throw PluginArgumentError("greylisting has no argument '\(key)' (it takes \(known))")
            }
        }
        guard settings.remoteIP || settings.sender || settings.recipient else {
            throw PluginArgumentError("greylisting: remote_ip, sender and recipient are all 0: nothing to track")
        }
        return settings
    }

    public func register(into hooks: inout HookRegistry) {
        if settings.recipient || settings.perRecipient {
            hooks.onRcpt { context, transaction, recipient, _ in await atRecipient(context, transaction, recipient) }
        } else {
            hooks.onMail { context, transaction, sender, _ in await atSender(context, transaction, sender) }
        }
        hooks.onData { context, transaction in atData(context, transaction) }
    }

    private func atSender(_ context: HookContext, _ transaction: Transaction, _ sender: ReversePath) async -> HookResult {
        guard await check(context, sender: sender, recipient: nil) else { return .declined }
        if settings.denyLate {
            transaction[note: Self.note] = Self.message
            context.logger.info("fail, deferred to DATA")
            return .declined
        }
        return context.reject(Self.message, defaultReject: .yes, defaultType: .temp)
    }

    private func atRecipient(_ context: HookContext, _ transaction: Transaction, _ recipient: Mailbox) async -> HookResult {
        let sender = transaction.sender ?? .null
        guard await check(context, sender: sender, recipient: recipient) else { return .declined }
        // A null sender is refused at DATA instead: callout probes that stop at RCPT still work.
        if settings.denyLate || sender.mailbox == nil {
            transaction[note: Self.note] = Self.message
            context.logger.info("fail, deferred to DATA")
            return .declined
        }
        return context.reject(Self.message, defaultReject: .yes, defaultType: .temp)
    }

    private func atData(_ context: HookContext, _ transaction: Transaction) -> HookResult {
        guard let message = transaction[note: Self.note] else { return .declined }
        return context.reject(message, defaultReject: .yes, defaultType: .temp)
    }

    /// True when this try is to be refused; records it either way. Store failures let mail through.
    func check(_ context: HookContext, sender: ReversePath, recipient: Mailbox?) async -> Bool {
        if context.isImmune {
            context.logger.info("skip, immune client")
            return false
        }
        if exclusions.excludes(ip: context.connection.remoteIP, host: context.connection.remoteHost) {
            context.logger.info("skip, excluded by greylist_exclude_files")
            return false
        }
        let key = GreylistStore.key(triplet(context, sender: sender, recipient: recipient))
        let now = Int(context.services.clock.now.secondsSinceEpoch)
        do {
            let (verdict, record) = try await GreylistStore(context.services.store).visit(key, at: now, settings)
            switch verdict {
            case .firstSeen: context.logger.info("fail, \(key) is new")
            case .tooSoon: context.logger.info("fail, \(key) retried too soon (\(record.blocked) refused)")
            case .promoted: context.logger.info("pass, \(key) retried in time: whitelisted")
            case .known: context.logger.info("pass, \(key) is white (\(record.deliveries) deliveries)")
            }
            return verdict.refuses
        } catch {
            context.logger.error("error, state store: \(error); letting \(key) through")
            return false
        }
    }

    private func triplet(_ context: HookContext, sender: ReversePath, recipient: Mailbox?) -> [String] {
        var parts: [String] = []
        if settings.remoteIP { parts.append(context.connection.remoteIP) }
        if settings.sender { parts.append(sender.address.lowercased()) }
        if settings.recipient, let recipient { parts.append(recipient.address.lowercased()) }
        return parts
    }
}
