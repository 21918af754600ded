import Logging
public import SMTPPluginAPI

/// `badmailfromto` (also `check_badmailfromto`): `badmailfromto` lines are `sender recipient`
/// pairs (the sender may be `@host`). A listed pair is refused at RCPT as if the recipient did
/// not exist — `550 5.1.1 mail to <recipient> not accepted here` — so the sender is not told they
/// are blocked. At MAIL the sender's matching entries go in the transaction note
/// `badmailfromto`; RCPT compares only those lines. The null sender and a sender without user or
/// host are skipped; like qpsmtpd, immune clients are not. qpsmtpd keeps only the last matching
/// sender entry; we keep them all, so `a@x` and `@x` lines both count. `reject` and
/// `reject_type` apply (default 1, perm).
public struct BadMailFromTo: SMTPPlugin {
    struct Pair: Sendable, Hashable {
        var sender: String
        var recipient: String
    }

    let pairs: [Pair]

    public init(context: PluginContext) throws {
        _ = try KeyValueArguments(context.arguments, plugin: context.instanceName, known: [])
        var pairs: [Pair] = []
        for line in context.config.entries("badmailfromto") {
            let words = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
            guard words.count >= 2, words[0].contains("@") else {
                context.logger.warning("\(line.file):\(line.lineNumber): ignoring '\(line.text)': not a 'sender recipient' pair")
                continue
            }
            pairs.append(Pair(sender: words[0], recipient: words[1]))
        }
        self.pairs = pairs
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, transaction, sender, _ in noteSender(context, transaction, sender) }
        hooks.onRcpt { context, transaction, recipient, _ in check(context, transaction, recipient) }
    }

    func noteSender(_ context: HookContext, _ transaction: Transaction, _ sender: ReversePath) -> HookResult {
        guard !pairs.isEmpty else {
            context.logger.debug("skip, empty list")
            return .declined
        }
        guard let mailbox = sender.mailbox, !mailbox.localPart.isEmpty, !mailbox.domain.isEmpty else {
            context.logger.debug("skip, null sender or missing user or host")
            return .declined
        }
        let host = mailbox.domain.lowercased()
        let address = mailbox.localPart.lowercased() + "@" + host
        let matching = Set(pairs.map(\.sender).filter { $0 == address || $0 == "@" + host })
        if !matching.isEmpty { transaction[note: .badMailFromTo] = matching }
        return .declined
    }

    func check(_ context: HookContext, _ transaction: Transaction, _ recipient: Mailbox) -> HookResult {
        guard let senders = transaction[note: .badMailFromTo] else {
            context.logger.debug("pass, sender not listed")
            return .declined
        }
        let address = recipient.localPart.lowercased() + "@" + recipient.domain.lowercased()
        guard pairs.contains(where: { senders.contains($0.sender) && $0.recipient == address }) else {
            context.logger.debug("pass, recipient not listed")
            return .declined
        }
        return context.reject("5.1.1 mail to \(address) not accepted here", log: "sender and \(address) are a badmailfromto pair")
    }
}

extension NoteKey {
    /// badmailfromto: the `badmailfromto` sender entries this transaction's sender matched.
    public static var badMailFromTo: NoteKey<Set<String>> { NoteKey<Set<String>>("badmailfromto") }
}
