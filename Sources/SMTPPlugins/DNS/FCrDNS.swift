import Logging
public import SMTPPluginAPI

/// `fcrdns`: forward-confirmed reverse DNS of the client at connect (RFC 8601 §3 "iprev"). The PTR
/// names of the client's address are looked up, then the addresses of each name, in parallel; the
/// check passes when one name maps back to the client (or, as qpsmtpd allows for server pools, to
/// the same IPv4 /24). The result goes into Authentication-Results as
/// `iprev=pass|fail|permerror|temperror policy.iprev=<ip>`.
///
/// Like qpsmtpd it never refuses by default (`reject 0`); with `reject 1` a `fail` or `permerror`
/// is refused with `reject_type` (default temp, as qpsmtpd forces). `dns_failure defer` answers
/// 4xx when DNS failed (temperror); the default, `tolerate`, lets the client in.
public struct FCrDNS: SMTPPlugin {
    /// At most this many PTR names are checked: a client cannot make us send hundreds of queries
    /// (RFC 7208 §4.6.4 sets the same bound for SPF's PTR names).
    static let maxNames = 10

    enum Result: String, Sendable {
        case pass, fail, permerror, temperror
    }

    struct Verdict: Sendable {
        var result: Result
        /// The name that confirmed the address, on pass.
        var confirmedName: String?
        /// For the log line.
        var detail: String
    }

    private let dnsFailure: DNSFailurePolicy

    public init(context: PluginContext) throws {
        _ = try KeyValueArguments(context.arguments, plugin: "fcrdns", known: ["dns_failure"])
        dnsFailure = try DNSFailurePolicy(context.arguments, default: .tolerate)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onConnect { context in
            await check(context)
        }
    }

    func check(_ context: HookContext) async -> HookResult {
        if context.isImmune {
            context.logger.debug("skip, immune")
            return .declined
        }
        let connection = context.connection
        guard let client = IPAddress(connection.remoteIP) else {
            context.logger.info("skip, not an IP address: \(connection.remoteIP)")
            return .declined
        }
        // qpsmtpd counts a loopback client in its favour and still checks it.
        if client.isLoopback {
            context.adjustKarma(by: 1)
            context.logger.debug("pass, is localhost")
        }
        // A name the environment gave (tcpserver's TCPREMOTEHOST) is checked first, as qpsmtpd does:
        // `localhost` from elsewhere, or a name that is not a host name, ends the check.
        if let given = connection.remoteHost, given != "Unknown", !given.hasPrefix("[") {
            if given.lowercased() == "localhost" && !client.isLoopback {
                context.adjustKarma(by: -1)
                context.logger.info("fail, not localhost")
                return .declined
            }
            if !HostName.hasDot(given) || !HostName.hasOnlyHostCharacters(given) {
                context.adjustKarma(by: -1)
                context.logger.info(!HostName.hasDot(given) ? "fail, not FQDN" : "fail, invalid FQDN chars")
                return .declined
            }
        }

        let verdict = await Self.evaluate(client: client, text: connection.remoteIP, dns: context.services.dns, deadline: context.deadline)
        context.addAuthenticationResult("iprev=\(verdict.result.rawValue) policy.iprev=\(connection.remoteIP)")
        connection[note: .fcrdns] = verdict.result.rawValue

        switch verdict.result {
        case .pass:
            if let name = verdict.confirmedName, connection.remoteHost == nil { connection.remoteHost = name }
            context.logger.info("pass, \(verdict.detail)")
            return .declined
        case .temperror:
            if dnsFailure == .defer_ {
                context.logger.info("fail, deferred: \(verdict.detail)")
                return .denySoft("4.7.25 Cannot verify the reverse DNS of \(connection.remoteIP) now; try again later")
            }
            context.logger.info("fail, tolerated: \(verdict.detail)")
            return .declined
        case .fail, .permerror:
            context.adjustKarma(by: -1)
            return context.reject(
                "5.7.25 Reverse DNS validation failed for \(connection.remoteIP)", log: verdict.detail,
                defaultReject: .no, defaultType: .temp)
        }
    }

    /// What forward lookups of one PTR name found.
    private enum Forward: Sendable {
        case addresses(name: String, [IPAddress])
        case none
        case failed
    }

    /// The iprev result for `client`: PTR names first, then every name's addresses in parallel.
    static func evaluate(client: IPAddress, text: String, dns: any DNSResolver, deadline: ContinuousClock.Instant) async -> Verdict {
        let names: [String]
        do {
            names = try await dns.ptr(of: client.reverseLookupText(given: text), deadline: deadline)
        } catch {
            if DNSFailurePolicy.isFailure(error) { return Verdict(result: .temperror, detail: "error getting rDNS: \(error)") }
            return Verdict(result: .permerror, detail: "no rDNS: \(error)")
        }
        var unique: [String] = []
        for name in names.map(HostName.normalized) where !name.isEmpty && !unique.contains(name) { unique.append(name) }
        guard !unique.isEmpty else { return Verdict(result: .permerror, detail: "no PTR records") }
        let checked = Array(unique.prefix(maxNames))

        let type = client.addressRecordType
        var sawFailure = false
        var networkMatch: String?
        let exact: String? = await withTaskGroup(of: Forward.self) { group in
            for name in checked {
                group.addTask {
                    do {
                        let records = try await dns.lookup(name, type, deadline: deadline)
                        let addresses = records.compactMap { record -> IPAddress? in
                            switch record {
                            case .a(let ip), .aaaa(let ip): return IPAddress(ip)
                            default: return nil
                            }
                        }
                        return .addresses(name: name, addresses)
                    } catch {
                        return DNSFailurePolicy.isFailure(error) ? .failed : .none
                    }
                }
            }
            for await forward in group {
                switch forward {
                case .addresses(let name, let addresses):
                    if addresses.contains(where: { $0.isSameHost(as: client) }) {
                        // One exact match settles it: the other lookups are no longer needed.
                        group.cancelAll()
                        return name
                    }
                    if networkMatch == nil, addresses.contains(where: { $0.isSameNetwork(as: client, includingIPv6: false) }) {
                        networkMatch = name
                    }
                case .failed: sawFailure = true
                case .none: break
                }
            }
            return nil
        }
        if let exact { return Verdict(result: .pass, confirmedName: exact, detail: "\(exact) maps back to \(text)") }
        if let networkMatch { return Verdict(result: .pass, confirmedName: networkMatch, detail: "forward network match, \(networkMatch)") }
        if sawFailure { return Verdict(result: .temperror, detail: "a forward lookup failed for \(checked.joined(separator: ", "))") }
        return Verdict(result: .fail, detail: "no PTR hosts have forward DNS matching \(text) (\(checked.joined(separator: ", ")))")
    }
}

extension NoteKey {
    /// fcrdns's iprev result for the connection (`pass`, `fail`, `permerror`, `temperror`), for
    /// plugins that come later. Not a qpsmtpd note: qpsmtpd leaves it only in Authentication-Results.
    public static var fcrdns: NoteKey<String> { NoteKey<String>("fcrdns") }
}
