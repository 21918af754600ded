import Synchronization

/// What one `milter` line remembers about one SMTP session, kept in a connection note: the open
/// conversation and where it stands. Hooks of a session run one at a time; the lock only makes
/// the sharing through the note safe.
final class MilterSessionState: Sendable {
    struct Fields: Sendable {
        var conversation: MilterConversation?
        /// The milter failed (down, slow, garbage): `default_action` answers from now on.
        var failed = false
        /// A connection-level reject or tempfail, repeated to every later command (as Postfix does).
        var connectionRefusal: MilterVerdict.Refusal?
        /// The milter accepted, rejected or discarded the message: no more callbacks until the next MAIL.
        var messageDone = false
        var discard = false
        /// MAIL went out and end of message did not: a reset needs SMFIC_ABORT.
        var inMessage = false
    }

    private let fields = Mutex(Fields())

    var conversation: MilterConversation? { fields.withLock { $0.conversation } }

    func update<Result: Sendable>(_ change: (inout Fields) -> Result) -> Result {
        fields.withLock { change(&$0) }
    }

    var snapshot: Fields { fields.withLock { $0 } }
}
