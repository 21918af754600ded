import SMTPPluginAPI

/// The greylisting plugin's triplets in the engine's store, shared with every plugin that
/// greylists (rspamd's `greylist` action): the same keys, `greylisting:<ip>:<sender>:<recipient>`
/// (the parts the caller tracks), and the same record, so a triplet whitelisted by one counts
/// for the other.
struct GreylistStore {
    let store: any StateStore

    init(_ store: any StateStore) {
        self.store = store
    }

    /// The store key for a triplet's parts, in the order client address, sender, recipient.
    static func key(_ parts: [String]) -> String {
        "greylisting:" + parts.joined(separator: ":")
    }

    /// Records one try at `now` and says what it was (and the record after it).
    func visit(_ key: String, at now: Int, _ settings: Greylisting.Settings) async throws -> (GreylistRecord.Verdict, GreylistRecord) {
        var record = GreylistRecord(try await store.get(key))
        let verdict = record.visit(at: now, settings)
        try await store.set(key, record.text, expiresAfter: .seconds(record.lifetime(from: now, settings)))
        return (verdict, record)
    }
}
