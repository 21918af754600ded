import Logging
public import SMTPPluginAPI

/// `headers [require From,Date,…] [past DAYS] [future DAYS] [reject 0|1|naughty] [reject_type T]`
/// (also `check_basicheaders`): at data_post, refuses an empty message, a message missing a
/// required header (default From; an empty value counts as missing), one that repeats a header
/// RFC 5322 §3.6 allows once, and, when `past`/`future` are given, a Date too far from now.
/// Immune clients (relay, whitelisted) skip the header checks. Each fault costs a point of karma.
public struct Headers: SMTPPlugin {
    /// RFC 5322 §3.6's fields that may appear at most once (the table's "max number" 1).
    static let singular = ["Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-Id", "In-Reply-To", "References", "Subject"]

    private let required: [String]
    private let past: Int?
    private let future: Int?

    public init(context: PluginContext) throws {
        let arguments = try KeyValueArguments(context.arguments, plugin: "headers", known: ["require", "past", "future"])
        if let list = arguments["require"] {
            let names = list.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) }
            guard !names.isEmpty, names.allSatisfy(Self.isFieldName) else {
                throw PluginArgumentError("require takes header names separated by commas (From,Date), not '\(list)'")
            }
            required = names
        } else {
            required = ["From"]
        }
        past = try arguments.days("past")
        future = try arguments.days("future")
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            check(context, transaction)
        }
    }

    private func check(_ context: HookContext, _ transaction: Transaction) -> HookResult {
        if transaction.dataSize == 0 {
            return context.reject("You must send some data first", log: "no data")
        }
        if context.isImmune {
            context.logger.info("skip, immune")
            return .declined
        }
        let header = transaction.header
        var faults: [String] = []
        for name in required where (header.value(of: name) ?? "").isEmpty {
            context.logger.info("fail, no \(name) header")
            faults.append("We require a valid \(name) header")
        }
        for name in Self.singular where header.all(named: name).count > 1 {
            context.logger.info("fail, too many \(name) headers")
            faults.append("Only one \(name) header allowed. See RFC 5322, Section 3.6")
        }
        context.adjustKarma(by: -faults.count)
        if let dateFault = dateFault(header, context) {
            context.adjustKarma(by: -1)
            return context.reject(dateFault)
        }
        if let first = faults.first {
            // qpsmtpd sends its reject type's number here (a bug); the first fault says what is wrong.
            return context.reject(first, log: "RFC 5322 validation errors")
        }
        context.logger.info("pass")
        return .declined
    }

    /// Why the Date is out of the `past`/`future` window, or nil (no window, no Date, or a Date
    /// that cannot be read).
    private func dateFault(_ header: MessageHeader, _ context: HookContext) -> String? {
        guard past != nil || future != nil, let date = header.value(of: "Date") else { return nil }
        guard let sent = MessageDate.secondsSinceEpoch(date) else {
            context.logger.info("skip, date not parseable (\(date))")
            return nil
        }
        let now = context.services.clock.now.secondsSinceEpoch
        if let past, sent < now - Double(past) * 86_400 {
            context.logger.info("fail, date too old (\(date))")
            return "The Date header is too far in the past"
        }
        if let future, sent > now + Double(future) * 86_400 {
            context.logger.info("fail, date in future (\(date))")
            return "The Date header is too far in the future"
        }
        return nil
    }

    /// RFC 5322 §3.6.8: printable ASCII but the colon.
    private static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 && $0 != 0x3A }
    }
}

extension KeyValueArguments {
    /// A positive whole number of days, or nil when the key is absent (no check).
    fileprivate func days(_ key: String) throws -> Int? {
        guard self[key] != nil else { return nil }
        return try count(key, default: 0)
    }
}
