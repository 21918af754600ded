/// A typed key for connection and transaction notes, the way plugins pass facts to each other.
/// The name is the de-facto API shared with qpsmtpd (`whitelisthost`, `naughty`, ...).
public struct NoteKey<Value: Sendable>: Sendable, Hashable {
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// Storage behind notes; values of any sendable type, read back through their key's type.
public struct Notes: Sendable {
    private var storage: [String: any Sendable] = [:]

    public init() {}

    public subscript<Value>(key: NoteKey<Value>) -> Value? {
        get { storage[key.name] as? Value }
        set { storage[key.name] = newValue }
    }

    public var names: [String] { storage.keys.sorted() }
}

extension NoteKey {
    public static var whitelistHost: NoteKey<Bool> { NoteKey<Bool>("whitelisthost") }
    public static var whitelistSender: NoteKey<Bool> { NoteKey<Bool>("whitelistsender") }
    public static var naughty: NoteKey<String> { NoteKey<String>("naughty") }
    /// How the `naughty` plugin should refuse: a `reject_type` word (`perm`, `temp`, `disconnect`, …).
    public static var naughtyRejectType: NoteKey<String> { NoteKey<String>("naughty_reject_type") }
    public static var karma: NoteKey<Int> { NoteKey<Int>("karma") }
    public static var unrecognizedCommandCount: NoteKey<Int> { NoteKey<Int>("unrec_cmd_count") }
    public static var authenticationResults: NoteKey<[String]> { NoteKey<[String]>("authentication_results") }
}
