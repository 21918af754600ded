#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import SMTPPluginAPI

/// `whitelist [per_recipient 1] [merge 0|1]`: exempts listed clients from later checks, with
/// qpsmtpd's notes and answers. Each check answers OK, which ends its hook's chain:
/// - connect: the environment variable `WHITELISTCLIENT` (set by tcpserver; note
///   `whitelistclient`), or the client's address in `whitelisthosts` (addresses, `a.b.c.` or
///   `a:b:` prefixes, CIDR blocks, as `relay` reads them; a partial address such as `10.1` is a
///   text prefix, as qpsmtpd compares it) — note `whitelisthost`, which `isImmune` honours; both
///   add 5 karma;
/// - helo/ehlo: the name in `whitelisthelo` (note `whitelisthelo`);
/// - mail: the sender's address or domain in `whitelistsenders` (transaction note
///   `whitelistsender`, which `isImmune` honours);
/// - rcpt: the recipient's address or domain in `whitelistrcpt` (transaction note `whitelistrcpt`,
///   the count so far). The OK accepts the recipient, even for relaying, as in qpsmtpd.
/// With `per_recipient 1` all four are asked at RCPT instead, in that order. qpsmtpd then reads
/// per-recipient lists through its `user_config` hook, merged with the global ones unless
/// `merge 0`; we have no per-recipient lists, so `merge` is accepted and the global lists used.
public struct Whitelist: SMTPPlugin {
    let hosts: IPMatcher
    let hostTextPrefixes: [String]
    let helos: Set<String>
    let senders: Set<String>
    let recipients: Set<String>
    let perRecipient: Bool
    private let environment: @Sendable (String) -> String?

    public init(context: PluginContext) throws {
        try self.init(context: context) { name in getenv(name).map { String(cString: $0) } }
    }

    /// `environment` looks up a variable; tests pass their own.
    init(context: PluginContext, environment: @escaping @Sendable (String) -> String?) throws {
        let arguments = try KeyValueArguments(context.arguments, plugin: "whitelist", known: ["per_recipient", "merge"])
        perRecipient = try arguments.flag("per_recipient", default: false)
        _ = try arguments.flag("merge", default: true)
        self.environment = environment
        let hostLines = context.config.lines("whitelisthosts")
        hosts = IPMatcher(entries: hostLines)
        var prefixes: [String] = []
        for entry in hosts.invalidEntries {
            let word = entry.lowercased()
            if !word.isEmpty, word.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) {
                prefixes.append(word)
            } else {
                context.logger.warning("whitelisthosts: ignoring '\(entry)': not an address, prefix or CIDR block")
            }
        }
        hostTextPrefixes = prefixes
        helos = Set(context.config.lines("whitelisthelo").map { $0.lowercased() })
        senders = Set(context.config.lines("whitelistsenders").map { $0.lowercased() })
        recipients = Set(context.config.lines("whitelistrcpt").map { $0.lowercased() })
    }

    public func register(into hooks: inout HookRegistry) {
        if perRecipient {
            hooks.onRcpt { context, transaction, recipient, _ in
                for answer in [checkHost(context), checkHelo(context, context.connection.helloHost)] where answer != .declined {
                    return answer
                }
                if let sender = transaction.sender, case .ok = checkSender(context, transaction, sender) { return .ok() }
                return checkRecipient(context, transaction, recipient)
            }
            return
        }
        hooks.onConnect { context in checkHost(context) }
        hooks.onHelo { context, host, _ in checkHelo(context, host) }
        hooks.onEhlo { context, host, _ in checkHelo(context, host) }
        hooks.onMail { context, transaction, sender, _ in checkSender(context, transaction, sender) }
        hooks.onRcpt { context, transaction, recipient, _ in checkRecipient(context, transaction, recipient) }
    }

    func checkHost(_ context: HookContext) -> HookResult {
        let connection = context.connection
        if environment("WHITELISTCLIENT") != nil {
            connection[note: .whitelistClient] = true
            context.logger.info("pass, is whitelisted client")
            context.adjustKarma(by: 5)
            return .ok()
        }
        let ip = connection.remoteIP
        if hosts.matches(ip) || hostTextPrefixes.contains(where: { ip.lowercased().hasPrefix($0) }) {
            connection[note: .whitelistHost] = true
            context.logger.info("pass, is a whitelisted host")
            context.adjustKarma(by: 5)
            return .ok()
        }
        context.logger.debug("skip: \(ip) is not whitelisted")
        return .declined
    }

    func checkHelo(_ context: HookContext, _ host: String?) -> HookResult {
        guard let host, helos.contains(host.lowercased()) else { return .declined }
        context.connection[note: .whitelistHelo] = true
        context.logger.info("helo host \(host) in whitelisthelo")
        return .ok()
    }

    func checkSender(_ context: HookContext, _ transaction: Transaction, _ sender: ReversePath) -> HookResult {
        guard let mailbox = sender.mailbox, !mailbox.domain.isEmpty else { return .declined }
        let address = mailbox.address.lowercased()
        guard senders.contains(address) || senders.contains(mailbox.domain.lowercased()) else { return .declined }
        transaction[note: .whitelistSender] = true
        context.logger.info("envelope sender \(address) in whitelistsenders")
        return .ok()
    }

    func checkRecipient(_ context: HookContext, _ transaction: Transaction, _ recipient: Mailbox) -> HookResult {
        guard !recipient.domain.isEmpty else { return .declined }
        let address = recipient.address.lowercased()
        guard recipients.contains(address) || recipients.contains(recipient.domain.lowercased()) else { return .declined }
        transaction[note: .whitelistRcpt] = (transaction[note: .whitelistRcpt] ?? 0) + 1
        context.logger.info("recipient \(address) in whitelistrcpt")
        return .ok()
    }
}

extension NoteKey {
    /// whitelist: `WHITELISTCLIENT` was set for this connection (not an immunity in qpsmtpd).
    public static var whitelistClient: NoteKey<Bool> { NoteKey<Bool>("whitelistclient") }
    /// whitelist: the HELO/EHLO name is in `whitelisthelo`.
    public static var whitelistHelo: NoteKey<Bool> { NoteKey<Bool>("whitelisthelo") }
    /// whitelist: how many of this transaction's recipients are in `whitelistrcpt`.
    public static var whitelistRcpt: NoteKey<Int> { NoteKey<Int>("whitelistrcpt") }
}
