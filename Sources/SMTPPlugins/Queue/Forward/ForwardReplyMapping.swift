import SMTPPluginAPI

/// How the downstream's replies become our one reply to the client. The rule everywhere: 250
/// only for what the downstream took; `451 4.3.0` when it could not say (nothing lost, the
/// client tries again); a permanent refusal reaches the client as that 5xx, code and text.
enum ForwardReplyMapping {
    /// What to do after the envelope.
    enum EnvelopeDecision: Sendable, Hashable {
        /// Send the message; `refused` recipients (5xx) are logged, not delivered.
        case deliver(accepted: [Mailbox], refused: [RecipientReply])
        /// Stop here and answer this (RSET the downstream first).
        case answer(HookResult)
    }

    static func temporaryFailure(_ reason: String) -> HookResult {
        .done(SMTPReply(451, .otherSystem, "Unable to queue message (\(reason))"))
    }

    static func envelope(_ replies: EnvelopeReplies) -> EnvelopeDecision {
        if replies.mail.isPermanent { return .answer(.done(replies.mail.relayed)) }
        if !replies.mail.isPositive { return .answer(temporaryFailure("sender deferred downstream: \(replies.mail)")) }
        // A recipient deferred (4xx) while others were accepted: one DATA reply cannot say
        // "later for this one", and delivering to the others would lose it unless we queued
        // it ourselves. So nothing is delivered now and the client retries the whole message.
        if let deferred = replies.recipients.first(where: { $0.reply.isTransient }) {
            return .answer(temporaryFailure("recipient deferred downstream: \(deferred.reply)"))
        }
        let accepted = replies.recipients.filter { $0.reply.isPositive }.map(\.recipient)
        let refused = replies.recipients.filter { !$0.reply.isPositive }
        // Every recipient refused: the client gets the downstream's own 5xx (the first one).
        guard !accepted.isEmpty else {
            guard let first = refused.first else { return .answer(temporaryFailure("no recipients")) }
            return .answer(.done(first.reply.relayed))
        }
        // Some refused: deliver to the others and answer 250. Our client heard 250 for each RCPT
        // already and gets one reply for the message: a 5xx would bounce it for the recipients the
        // downstream accepted, a 4xx would make it retry them (duplicates). qpsmtpd does the same;
        // the refused ones are logged. The proxy mode avoids this by asking at RCPT time.
        return .deliver(accepted: accepted, refused: refused)
    }

    /// The reply to the message: `queued as <id>` for SMTP, like qpsmtpd.
    static func smtpMessage(_ replies: MessageReplies) -> HookResult {
        switch replies {
        case .dataRefused(let reply):
            return reply.isPermanent ? .done(reply.relayed) : temporaryFailure("DATA deferred downstream: \(reply)")
        case .final(let finals):
            guard let reply = finals.first else { return temporaryFailure("no reply downstream") }
            if reply.isPositive { return .ok("queued as \(reply.lastWord)") }
            if reply.isPermanent { return .done(reply.relayed) }
            return temporaryFailure("message deferred downstream: \(reply)")
        }
    }

    /// LMTP gives one reply per accepted recipient after the message (RFC 2033 §4.2). Each
    /// recipient is then final: delivered or not. Our client gets one reply, so:
    /// all delivered → 250; none delivered → the first 5xx, or 451 if any was only deferred;
    /// some delivered → 250 and the others logged (a 451 would deliver the first ones again on
    /// the retry, a 5xx would bounce mail that was delivered). `refusedAfterData` lists those.
    static func lmtpMessage(_ replies: MessageReplies, recipients: [Mailbox]) -> (result: HookResult, refusedAfterData: [RecipientReply]) {
        switch replies {
        case .dataRefused(let reply):
            return (reply.isPermanent ? .done(reply.relayed) : temporaryFailure("message deferred downstream: \(reply)"), [])
        case .final(let finals):
            let pairs = zip(recipients, finals).map { RecipientReply(recipient: $0, reply: $1) }
            let refused = pairs.filter { !$0.reply.isPositive }
            if refused.count < pairs.count {
                return (.ok("delivered to \(pairs.count - refused.count) of \(pairs.count) recipients"), refused)
            }
            if let deferred = refused.first(where: { $0.reply.isTransient }) {
                return (temporaryFailure("message deferred downstream: \(deferred.reply)"), [])
            }
            guard let first = refused.first else { return (temporaryFailure("no recipients"), []) }
            return (.done(first.reply.relayed), [])
        }
    }
}
