import SMTPCore
import Synchronization

/// One mail transaction, from MAIL to the end of DATA (or a reset).
public final class Transaction: Sendable {
    public let id: String

    struct State: Sendable {
        var sender: ReversePath?
        var senderParameters: [ESMTPParameter] = []
        var recipients: [Mailbox] = []
        var header = MessageHeader()
        var body: SpooledMessage?
        var notes = Notes()
    }

    private let state = Mutex(State())

    public init(id: String) {
        self.id = id
    }

    public var sender: ReversePath? {
        get { state.withLock { $0.sender } }
        set { state.withLock { $0.sender = newValue } }
    }

    public var senderParameters: [ESMTPParameter] {
        get { state.withLock { $0.senderParameters } }
        set { state.withLock { $0.senderParameters = newValue } }
    }

    public var recipients: [Mailbox] {
        get { state.withLock { $0.recipients } }
        set { state.withLock { $0.recipients = newValue } }
    }

    public func addRecipient(_ mailbox: Mailbox) {
        state.withLock { $0.recipients.append(mailbox) }
    }

    public func removeRecipient(_ mailbox: Mailbox) {
        state.withLock { $0.recipients.removeAll { $0 == mailbox } }
    }

    /// The message's header fields, parsed at the end of the header block. Plugins at
    /// `data_post` may add or change fields; queue plugins write this, then the body.
    public var header: MessageHeader {
        get { state.withLock { $0.header } }
        set { state.withLock { $0.header = newValue } }
    }

    /// Changes the header in place, atomically.
    public func modifyHeader(_ change: (inout MessageHeader) -> Void) {
        state.withLock { change(&$0.header) }
    }

    /// The message as received (dot-unstuffed, CRLF line ends); nil before DATA.
    public var body: SpooledMessage? {
        get { state.withLock { $0.body } }
        set { state.withLock { $0.body = newValue } }
    }

    /// Octets of the message as received.
    public var dataSize: Int { body?.size ?? 0 }

    public subscript<Value>(note key: NoteKey<Value>) -> Value? {
        get { state.withLock { $0.notes[key] } }
        set { state.withLock { $0.notes[key] = newValue } }
    }
}
