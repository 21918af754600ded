public import SMTPPluginAPI

/// `rcpt_regexp`: answers recipients from the `rcpt_regexp` file, whose lines are
/// `ADDRESS-or-/REGEXP/ CODE [message]`; the first line matching the lower-cased `user@host`
/// decides, with CODE (OK, DENY, DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT, DECLINED) and
/// the message. `/…/` is a pattern matched without case (see `PerlPattern`); anything else is an
/// address compared without case. qpsmtpd skips a line with a bad pattern or code at every RCPT
/// with a warning; here it stops the load with its file and line. Recipients without user or host
/// are left alone.
public struct RcptRegexp: SMTPPlugin {
    enum Matcher: Sendable {
        case address(String)
        case pattern(PerlPattern)

        func matches(_ address: String) -> Bool {
            switch self {
            case .address(let a): return a == address
            case .pattern(let p): return p.matches(address)
            }
        }
    }

    struct Rule: Sendable {
        var matcher: Matcher
        var code: ReturnCodeWord
        var message: String?
        var source: String
    }

    let rules: [Rule]

    public init(context: PluginContext) throws {
        _ = try KeyValueArguments(context.arguments, plugin: "rcpt_regexp", known: [])
        var rules: [Rule] = []
        for line in context.config.entries("rcpt_regexp") {
            let words = line.text.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
            let entry = String(words[0])
            guard words.count >= 2 else {
                throw PluginArgumentError("\(line.file):\(line.lineNumber): no return code after '\(entry)'")
            }
            guard let code = ReturnCodeWord(word: words[1]) else {
                throw PluginArgumentError("\(line.file):\(line.lineNumber): '\(words[1])' is not one of \(ReturnCodeWord.allWords)")
            }
            let matcher: Matcher
            if entry.count >= 2, entry.hasPrefix("/"), entry.hasSuffix("/") {
                matcher = .pattern(try PerlPattern(String(entry.dropFirst().dropLast()), ignoringCase: true, at: line))
            } else {
                matcher = .address(entry.lowercased())
            }
            let message = words.count > 2 ? String(words[2]).trimmingSpacesAndTabs() : nil
            rules.append(Rule(matcher: matcher, code: code, message: message, source: entry))
        }
        self.rules = rules
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onRcpt { context, _, recipient, _ in answer(context, recipient) }
    }

    func answer(_ context: HookContext, _ recipient: Mailbox) -> HookResult {
        guard !recipient.localPart.isEmpty, !recipient.domain.isEmpty else { return .declined }
        let address = (recipient.localPart + "@" + recipient.domain).lowercased()
        guard let rule = rules.first(where: { $0.matcher.matches(address) }) else { return .declined }
        context.logger.info("\(rule.source) matched \(address), returning \(rule.code.rawValue)")
        return rule.code.result(rule.message)
    }
}
