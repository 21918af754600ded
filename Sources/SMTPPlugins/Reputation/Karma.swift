import Logging
import SMTPCore
public import SMTPPluginAPI

/// `karma` (qpsmtpd's plugins/karma): a history per client address of naughty and nice
/// connections, and a penalty box. Other plugins mark a connection with `adjustKarma(by:)` (the
/// connection note `karma`); karma itself takes a point off for every refusal another plugin
/// gives, and adds one for every message the queue accepts. At disconnect a connection with
/// negative karma counts as naughty, one with positive karma as nice; when naughty ones then
/// outnumber nice ones by `negative` (1), or the connection alone reached −`strikes` (3), the
/// address goes to the penalty box for `penalty_days` (1, fractions allowed):
/// `You were naughty. You cannot connect for N more days.` at connect.
///
/// `reject`: `0` only logs; `1` or `connect` refuse at connect with `reject_type` (default
/// `disconnect`); `naughty` (the default) leaves it to the naughty plugin. A client with a bad
/// history (more naughty than nice) may name one recipient per message:
/// `452 4.5.3 too many recipients for karma K (h: H)` (K this connection's karma, H the history).
/// `karma_tlds` lines `tld:N` (or `tld N`) adjust the karma of clients whose host name ends in
/// that top-level (or longer) domain. Immune clients are neither judged nor recorded.
///
/// State: counters `karma:<ip>:naughty`, `:nice`, `:connects` (kept 90 days after the last
/// change) and `karma:<ip>:penalty` (its start, expiring with the penalty) in the engine's store.
public struct Karma: SMTPPlugin {
    enum Mode: String, Sendable {
        case no = "0", yes = "1", connect, naughty

        var reject: PluginArguments.Reject {
            switch self {
            case .no: .no
            case .yes, .connect: .yes
            case .naughty: .naughty
            }
        }
    }

    static let history = NoteKey<Int>("karma_history")
    /// Set while a boxed client is refused: its refusals and disconnect are not new offences.
    static let inPenaltyBox = NoteKey<Bool>("karma_penalty_box")
    static let historyLifetime = Duration.seconds(90 * 86_400)

    let negative: Int
    let strikes: Int
    let penaltyDays: Double
    let mode: Mode
    let tlds: [(suffix: String, change: Int)]

    public init(context: PluginContext) throws {
        let arguments = context.arguments
        let words = arguments.words
        guard words.count % 2 == 0 else {
            throw PluginArgumentError("karma takes 'key value' pairs; '\(words.last ?? "")' has no value")
        }
        let known: Set<String> = ["negative", "strikes", "penalty_days", "reject", "reject_type", "loglevel", "timeout", "db_dir", "nfslock"]
        for index in stride(from: 0, to: words.count, by: 2) where !known.contains(words[index]) {
            throw PluginArgumentError("karma has no argument '\(words[index])' (it takes \(known.sorted().joined(separator: ", ")))")
        }
        negative = try Self.wholeNumber(arguments, "negative", default: 1)
        strikes = try Self.wholeNumber(arguments, "strikes", default: 3)
        let days = arguments["penalty_days"] ?? "1"
        guard let penaltyDays = Double(days), penaltyDays > 0, penaltyDays <= 3650 else {
            throw PluginArgumentError("karma: penalty_days must be a positive number of days, not '\(days)'")
        }
        self.penaltyDays = penaltyDays
        let word = arguments["reject"]?.lowercased() ?? "naughty"
        guard let mode = Mode(rawValue: word) else {
            throw PluginArgumentError("karma: reject must be 0, 1, connect or naughty, not '\(word)'")
        }
        self.mode = mode
        _ = try arguments.rejectType(default: .disconnect)
        tlds = try context.config.entries("karma_tlds").map { entry in
            let parts = entry.text.split(whereSeparator: { $0 == ":" || $0.isWhitespace })
            guard parts.count == 2, let change = Int(parts[1].hasPrefix("+") ? parts[1].dropFirst() : parts[1]) else {
                throw PluginArgumentError("\(entry.file):\(entry.lineNumber): karma_tlds lines are 'tld:N', not '\(entry.text)'")
            }
            let tld = parts[0].lowercased()
            return (suffix: tld.hasPrefix(".") ? tld : "." + tld, change: change)
        }
    }

    private static func wholeNumber(_ arguments: PluginArguments, _ key: String, default fallback: Int) throws -> Int {
        guard let text = arguments[key] else { return fallback }
        guard let value = Int(text), value > 0 else {
            throw PluginArgumentError("karma: \(key) must be a positive whole number, not '\(text)'")
        }
        return value
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in await connect(context) }
        hooks.onDeny { context, verdict in
            // Its own refusals (the penalty box) are the consequence, not a new offence.
            if verdict.plugin != context.plugin && context.connection[note: Self.inPenaltyBox] != true {
                context.adjustKarma(by: -1)
            }
        }
        hooks.onRcpt { context, transaction, _, _ in recipientLimit(context, transaction) }
        hooks.onQueuePost { context, _ in
            context.adjustKarma(by: 1)
            return .declined
        }
        hooks.onDisconnect { context in await disconnect(context) }
    }

    private func key(_ context: HookContext, _ part: String) -> String {
        "karma:\(context.connection.remoteIP):\(part)"
    }

    func connect(_ context: HookContext) async -> HookResult {
        if context.connection[note: .karma] == nil { context.connection[note: .karma] = 0 }
        if context.isImmune {
            context.logger.info("skip, immune client")
            return .declined
        }
        if let host = context.connection.remoteHost?.lowercased(),
           let tld = tlds.first(where: { host.hasSuffix($0.suffix) }) {
            context.adjustKarma(by: tld.change)
            context.logger.info("karma \(tld.change > 0 ? "+" : "")\(tld.change) for \(tld.suffix)")
        }
        let store = context.services.store
        do {
            let naughty = try await number(store, key(context, "naughty"))
            let nice = try await number(store, key(context, "nice"))
            let connects = try await store.increment(key(context, "connects"), by: 1, expiresAfter: Self.historyLifetime)
            context.connection[note: Self.history] = nice - naughty
            let summary = "\(naughty) naughty, \(nice) nice, \(connects) connects"
            guard let started = try await store.get(key(context, "penalty")).flatMap({ Double($0) }) else {
                context.logger.info("pass, no penalty (\(summary))")
                return .declined
            }
            let left = penaltyDays - (context.services.clock.now.secondsSinceEpoch - started) / 86_400
            guard left > 0 else {
                context.logger.info("pass, penalty expired (\(summary))")
                return .declined
            }
            context.connection[note: Self.inPenaltyBox] = true
            let message = "You were naughty. You cannot connect for \(Self.days(left)) more days."
            return context.reject(message, log: "penalty box (\(summary))", defaultReject: mode.reject, defaultType: .disconnect)
        } catch {
            context.logger.error("error, state store: \(error)")
            return .declined
        }
    }

    /// A client with a bad history gets one recipient per message; the rest may come later (4xx).
    func recipientLimit(_ context: HookContext, _ transaction: Transaction) -> HookResult {
        guard !context.isImmune, !transaction.recipients.isEmpty,
              let history = context.connection[note: Self.history], history < 0 else { return .declined }
        let karma = context.connection[note: .karma] ?? 0
        let message = "too many recipients for karma \(karma) (h: \(history))"
        guard mode != .no else {
            context.logger.info("fail, tolerated: \(message)")
            return .declined
        }
        context.logger.info("fail: \(message)")
        return .done(SMTPReply(452, .tooManyRecipients, message))
    }

    func disconnect(_ context: HookContext) async -> HookResult {
        guard !context.isImmune, context.connection[note: Self.inPenaltyBox] != true,
              let karma = context.connection[note: .karma], karma != 0 else { return .declined }
        let store = context.services.store
        do {
            if karma > 0 {
                _ = try await store.increment(key(context, "nice"), by: 1, expiresAfter: Self.historyLifetime)
                context.logger.info("positive (karma \(karma))")
                return .declined
            }
            let naughty = try await store.increment(key(context, "naughty"), by: 1, expiresAfter: Self.historyLifetime)
            let nice = try await number(store, key(context, "nice"))
            if nice - naughty <= -negative || karma <= -strikes {
                let now = context.services.clock.now.secondsSinceEpoch
                try await store.set(key(context, "penalty"), String(now), expiresAfter: .milliseconds(Int64(penaltyDays * 86_400_000)))
                context.logger.info("negative (karma \(karma)), sent to the penalty box")
            } else {
                context.logger.info("negative (karma \(karma))")
            }
        } catch {
            context.logger.error("error, state store: \(error)")
        }
        return .declined
    }

    private func number(_ store: any StateStore, _ key: String) async throws -> Int {
        let text = try await store.get(key)
        return text.flatMap { Int($0) } ?? 0
    }

    /// Days with two decimals, as qpsmtpd prints them (`0.99`).
    static func days(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
