import Logging
public import SMTPPluginAPI

/// `helo`: checks the HELO/EHLO name with qpsmtpd's three policies, in its order:
/// - `lenient` (default): `badhelo` names and patterns, `localhost` from elsewhere, a forged
///   address literal, a plain IP address;
/// - `rfc`: also a fully qualified name, forward DNS of the name, reverse DNS of the client;
/// - `strict`: also no address literal at all, and the name must match the client's DNS
///   (its addresses include the client's, or a PTR name of the client is the name or shares its
///   last two labels).
///
/// Refusals honour `reject 0|1|naughty` (default 1), but, as in qpsmtpd, `reject_type` is always
/// `disconnect`: the client gets `550` and the connection is closed. At data_post it writes the
/// name into an `X-HELO` header. DNS lookups take at most `dns_timeout` (or `timeout`, default 5)
/// seconds. When DNS fails, qpsmtpd skips the forward check and refuses (550) on the reverse
/// one; the default here does the same but refuses with `421` (a failure of our resolver is no
/// reason to bounce mail); `dns_failure tolerate` skips both and `dns_failure defer` answers
/// `421` and closes for both.
public struct Helo: SMTPPlugin {
    enum Policy: String, Sendable {
        case lenient, rfc, strict
    }

    /// A refusal found by one check: the client's text, and the log's.
    struct Failure: Sendable, Equatable {
        var message: String
        var log: String
        /// A DNS failure under `dns_failure defer`: 421 and close instead of 550.
        var temporary = false
    }

    let policy: Policy
    let badHelo: BadHeloList
    let dnsTimeout: Duration
    /// nil: qpsmtpd's own mix (skip a failed forward lookup, refuse a failed reverse one, here with 421).
    let dnsFailure: DNSFailurePolicy?

    public init(context: PluginContext) throws {
        let arguments = try KeyValueArguments(context.arguments, plugin: "helo", known: ["policy", "dns_timeout", "dns_failure"])
        let word = arguments["policy"] ?? "lenient"
        guard let policy = Policy(rawValue: word.lowercased()) else {
            throw PluginArgumentError("policy must be lenient, rfc or strict, not '\(word)'")
        }
        self.policy = policy
        dnsTimeout = try arguments.seconds("dns_timeout") ?? arguments.seconds("timeout") ?? .seconds(5)
        dnsFailure = try arguments["dns_failure"] == nil ? nil : DNSFailurePolicy(context.arguments, default: .tolerate)
        badHelo = try BadHeloList(context.config.entries("badhelo"))
        if arguments["reject_type"] != nil {
            context.logger.warning("reject_type is ignored: helo always closes the connection after refusing, as qpsmtpd does")
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onHelo { context, host, _ in await greeting(context, host) }
        hooks.onEhlo { context, host, _ in await greeting(context, host) }
        hooks.onDataPost { context, transaction in
            transaction.modifyHeader { header in
                header.remove(named: "X-HELO")
                if let host = context.connection.helloHost { header.append("X-HELO", host) }
            }
            return .declined
        }
    }

    func greeting(_ context: HookContext, _ host: String) async -> HookResult {
        guard !host.isEmpty else {
            context.logger.info("fail, tolerated, no helo host")
            context.adjustKarma(by: -2)
            return .declined
        }
        if context.isImmune {
            context.logger.debug("skip, immune")
            return .declined
        }
        guard let failure = await firstFailure(context, host) else {
            context.logger.info("pass")
            return .declined
        }
        context.adjustKarma(by: -1)
        return refuse(context, failure)
    }

    /// The checks of the policy, in qpsmtpd's order; the first failure decides.
    func firstFailure(_ context: HookContext, _ host: String) async -> Failure? {
        let client = IPAddress(context.connection.remoteIP)
        if let failure = badHelo.check(host) { return failure }
        if let failure = Self.invalidLocalhost(host, client: client) { return failure }
        if let failure = Self.forgedLiteral(host, client: client) { return failure }
        if let failure = Self.plainIP(host) { return failure }
        guard policy != .lenient else { return nil }

        if let failure = Self.notFullyQualified(host) { return failure }
        // Forward and reverse DNS are independent: ask for both at once.
        let dns = HeloDNS(host: host, clientText: context.connection.remoteIP, client: client)
        let answers = await dns.lookUp(context.services.dns, deadline: context.lookupDeadline(within: dnsTimeout))
        context.connection[note: .heloForwardMatch] = answers.forwardMatch
        context.connection[note: .heloReverseMatch] = answers.reverseMatch
        if let failure = answers.failure(host: host, clientText: context.connection.remoteIP, dnsFailure: dnsFailure, logger: context.logger) {
            return failure
        }
        guard policy == .strict else { return nil }

        if AddressLiteral.address(in: host) != nil {
            return Failure(message: "RFC 2821 allows an address literal, but we do not", log: "bracketed IP")
        }
        if answers.forwardMatch && answers.reverseMatch {
            context.adjustKarma(by: 1)
            return nil
        }
        if answers.forwardMatch || answers.reverseMatch { return nil }
        return Failure(message: "That HELO hostname fails FCrDNS", log: "no matching DNS")
    }

    /// qpsmtpd's `get_reject` with the type forced to disconnect (temp_disconnect for a deferral).
    private func refuse(_ context: HookContext, _ failure: Failure) -> HookResult {
        if failure.temporary {
            context.logger.info("fail, deferred: \(failure.log)")
            return .denySoftDisconnect(failure.message)
        }
        switch context.policy.reject ?? .yes {
        case .no:
            context.logger.info("fail, tolerated: \(failure.log)")
            return .declined
        case .naughty:
            context.logger.info("fail, naughty: \(failure.log)")
            context.connection[note: .naughty] = failure.message
            context.connection[note: .naughtyRejectType] = PluginArguments.RejectType.disconnect.rawValue
            return .declined
        case .yes:
            context.logger.info("fail: \(failure.log)")
            return .denyDisconnect(failure.message)
        }
    }

    // MARK: The checks that need no DNS

    /// `localhost` is only believed from a loopback address.
    static func invalidLocalhost(_ host: String, client: IPAddress?) -> Failure? {
        if client?.isLoopback == true { return nil }
        guard host.lowercased() == "localhost" else { return nil }
        return Failure(message: "You are not localhost", log: "invalid localhost")
    }

    /// An address literal must be the client's own address. (qpsmtpd 1.00 means to check this,
    /// but its test never sees a bracketed address as valid, so it never fires there.)
    static func forgedLiteral(_ host: String, client: IPAddress?) -> Failure? {
        guard let literal = AddressLiteral.address(in: host) else { return nil }
        if let client, literal.isSameHost(as: client) { return nil }
        return Failure(message: "Forged IPs not accepted here", log: "forged IP literal")
    }

    /// A bare address is neither a name nor a literal.
    static func plainIP(_ host: String) -> Failure? {
        guard IPAddress(host) != nil else { return nil }
        return Failure(message: "Plain IP is invalid HELO hostname (RFC 2821)", log: "plain IP")
    }

    /// A dot and only host-name characters; literals are left to the other checks.
    static func notFullyQualified(_ host: String) -> Failure? {
        if AddressLiteral.isLiteral(host) { return nil }
        if !HostName.hasDot(host) {
            return Failure(message: "HELO name is not fully qualified. Read RFC 2821", log: "not FQDN")
        }
        if !HostName.hasOnlyHostCharacters(host) {
            return Failure(message: "HELO name contains invalid FQDN characters. Read RFC 1035", log: "invalid FQDN chars")
        }
        return nil
    }
}

extension NoteKey {
    /// helo (rfc/strict): one of the HELO name's addresses is the client's (or in its network).
    public static var heloForwardMatch: NoteKey<Bool> { NoteKey<Bool>("helo_forward_match") }
    /// helo (rfc/strict): a PTR name of the client is the HELO name or shares its last two labels.
    public static var heloReverseMatch: NoteKey<Bool> { NoteKey<Bool>("helo_reverse_match") }
}
