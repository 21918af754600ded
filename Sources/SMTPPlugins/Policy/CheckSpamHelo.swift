public import SMTPPluginAPI

/// `check_spamhelo`: qpsmtpd's old HELO check, kept for configurations that still list it
/// (Debian's default does; qpsmtpd 1.00 folded it into `helo`). It refuses a HELO/EHLO name found
/// in `badhelo` — read as `helo` reads it (names without case, regexps, `!` negation) — with
/// `550 Sorry, I don't believe that you are <name>.` and closes the connection, as the old
/// plugin's DENY_DISCONNECT did; it does none of `helo`'s other checks. Immune clients (relay,
/// `whitelisthost`) are skipped, as `helo` skips them. `reject 0|1|naughty` (default 1) and
/// `reject_type` (default disconnect) apply.
public struct CheckSpamHelo: SMTPPlugin {
    let badHelo: BadHeloList

    public init(context: PluginContext) throws {
        _ = try KeyValueArguments(context.arguments, plugin: "check_spamhelo", known: [])
        badHelo = try BadHeloList(context.config.entries("badhelo"))
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onHelo { context, host, _ in check(context, host) }
        hooks.onEhlo { context, host, _ in check(context, host) }
    }

    func check(_ context: HookContext, _ host: String) -> HookResult {
        guard !host.isEmpty else { return .declined }
        if context.isImmune {
            context.logger.debug("skip, immune")
            return .declined
        }
        guard let failure = badHelo.check(host) else {
            context.logger.info("pass")
            return .declined
        }
        return context.reject(
            "Sorry, I don't believe that you are \(host.lowercased()).", log: failure.log, defaultType: .disconnect)
    }
}
