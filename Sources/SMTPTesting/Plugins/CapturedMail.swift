public import SMTPPluginAPI
import Synchronization

/// What the `test/capture` queue plugin received, for assertions: make one per test, put its
/// `pluginLine` in `config/plugins`, and read `messages` after the conversation.
///
///     let queue = CapturedMail()
///     let client = try await SMTPTestClient.start(.session, config: ["plugins": ["rcpt_ok", queue.pluginLine]])
///     ...
///     #expect(queue.messages.first?.recipients == ["u@test.example"])
public final class CapturedMail: Sendable {
    /// One queued transaction.
    public struct Message: Sendable {
        /// The sender's address, `""` for the null sender.
        public var sender: String
        public var recipients: [String]
        public var header: MessageHeader
        /// The body as received (CRLF line ends, dots unstuffed), after the header's blank line.
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public let id: Int
    private let received = Mutex<[Message]>([])

    public init() {
        id = Self.registry.withLock { registry in
            registry.next += 1
            return registry.next
        }
        Self.registry.withLock { $0.live[id] = Weak(self) }
    }

    deinit {
        _ = Self.registry.withLock { $0.live.removeValue(forKey: id) }
    }

    /// The `config/plugins` line that queues into this capture.
    public var pluginLine: String { "test/capture \(id)" }

    public var messages: [Message] { received.withLock { $0 } }

    func record(_ message: Message) {
        received.withLock { $0.append(message) }
    }

    /// The capture a plugin line names; plugins are built from config lines, so they find their
    /// capture by number. Held weakly: a finished test's capture goes away with it.
    static func named(_ id: Int) -> CapturedMail? {
        registry.withLock { $0.live[id]?.value }
    }

    private struct Weak: Sendable {
        weak var value: CapturedMail?
        init(_ value: CapturedMail) { self.value = value }
    }

    private static let registry = Mutex<(next: Int, live: [Int: Weak])>((0, [:]))
}
