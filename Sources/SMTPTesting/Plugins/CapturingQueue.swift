import SMTPPluginAPI

/// `test/capture ID`: a queue plugin for tests. Records each message in the `CapturedMail` with
/// that id and answers `250 Queued`.
struct CapturingQueue: SMTPPlugin {
    let capture: CapturedMail

    init(context: PluginContext) throws {
        guard let word = context.arguments.positional(0), let id = Int(word), let capture = CapturedMail.named(id) else {
            throw PluginArgumentError("usage: test/capture ID, with the id of a live CapturedMail (use its pluginLine)")
        }
        self.capture = capture
    }

    func register(into hooks: inout HookRegistry) {
        let capture = self.capture
        hooks.onQueue { _, transaction in
            var body = try transaction.body.map { try $0.bytes(from: $0.bodyOffset) } ?? []
            // The spool's body starts at the blank line that ends the header; tests want what follows.
            if body.starts(with: [13, 10]) { body.removeFirst(2) } else if body.first == 10 { body.removeFirst() }
            capture.record(CapturedMail.Message(
                sender: transaction.sender?.address ?? "", recipients: transaction.recipients.map(\.address),
                header: transaction.header, body: body))
            return .ok("Queued")
        }
    }
}
