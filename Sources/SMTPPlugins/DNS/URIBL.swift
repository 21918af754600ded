import Logging
public import SMTPPluginAPI

/// `uribl` (also `async/uribl`): at data_post, looks up the hosts and addresses of the URIs in
/// the message in the URI blocklists of `uribl_zones` (`zone [mask,…] [action]`). A listed name
/// (an A answer whose bits meet the zone's mask) is described as `<name> in <zone>: <TXT or A>`
/// and, as the zone's action (or the `action` argument, default add-header) says, added as an
/// `X-URIBL-Match` header, refused (deny: 5xx, denysoft: 4xx, through `reject`/`reject_type`),
/// or only logged (log).
///
/// The body (and the header with `scan-headers 1`) is read from the spool in chunks; a message is
/// never held whole. Hosts of a registered domain in `uribl_whitelist_domains` are skipped;
/// `checkip no` skips IP addresses. At most `max_lookups` (default 100) queries are sent per
/// message, in parallel. DNS failures are tolerated as qpsmtpd does, or answered 451 with
/// `dns_failure defer` when no listing was found.
public struct URIBL: SMTPPlugin {
    /// How many A queries are in flight at once for one message.
    static let parallelLookups = 16

    let zones: [URIBLZone]
    let whitelist: Set<String>
    let scanHeaders: Bool
    let checkIP: Bool
    let maxLookups: Int
    let dnsFailure: DNSFailurePolicy
    private let chunkSize: Int

    public init(context: PluginContext) throws {
        try self.init(context: context, chunkSize: 65_536)
    }

    /// `chunkSize`: bytes read from the spool at a time (tests make it small).
    init(context: PluginContext, chunkSize: Int) throws {
        let arguments = try KeyValueArguments(
            context.arguments, plugin: "uribl", known: ["action", "scan-headers", "check-headers", "checkip", "max_lookups", "dns_failure"])
        let actionWord = arguments["action"] ?? "add-header"
        guard let action = URIBLZone.Action(rawValue: actionWord.lowercased()) else {
            throw PluginArgumentError("action must be add-header, deny, denysoft or log, not '\(actionWord)'")
        }
        // qpsmtpd documented `scan-headers` but read `check-headers`; both are taken.
        scanHeaders = try arguments.flag("scan-headers", default: false) || arguments.flag("check-headers", default: false)
        checkIP = try arguments.flag("checkip", default: true)
        maxLookups = try arguments.count("max_lookups", default: 100)
        dnsFailure = try DNSFailurePolicy(context.arguments, default: .tolerate)
        zones = try context.config.entries("uribl_zones").map { try URIBLZone($0, defaultAction: action) }
        whitelist = Set(context.config.lines("uribl_whitelist_domains").map(HostName.normalized))
        self.chunkSize = chunkSize
        if zones.isEmpty { context.logger.warning("no zones in uribl_zones: nothing will be checked") }
    }

    public func register(into hooks: inout HookRegistry) {
        guard !zones.isEmpty else { return }
        hooks.onDataPost { context, transaction in
            try await check(context, transaction)
        }
    }

    /// One listing: what to do, and the text qpsmtpd gives.
    struct Match: Sendable, Equatable {
        var action: URIBLZone.Action
        var description: String
    }

    func check(_ context: HookContext, _ transaction: Transaction) async throws -> HookResult {
        guard let message = transaction.body else { return .declined }
        let names = try await scan(message, context: context)
        guard !names.isEmpty else {
            context.logger.info("No URIs found in mail")
            return .declined
        }
        let (matches, failures) = await lookUp(names, context: context)
        context.logger.info("\(names.count * zones.count) lookups finished (\(matches.count) match\(matches.count == 1 ? "" : "es"), \(failures) failed)")

        for match in matches where match.action == .addHeader || match.action == .log {
            context.logger.warning("\(match.description)")
            if match.action == .addHeader { transaction.modifyHeader { $0.append("X-URIBL-Match", match.description) } }
        }
        if let deny = matches.first(where: { $0.action == .deny }) {
            return context.reject(deny.description, defaultType: .perm)
        }
        if let denySoft = matches.first(where: { $0.action == .denySoft }) {
            return context.reject(denySoft.description, defaultType: .temp)
        }
        if matches.isEmpty, failures > 0, dnsFailure == .defer_ {
            context.logger.info("fail, deferred: \(failures) URIBL lookups failed")
            return .denySoft("4.4.3 Cannot check the URIs of this message now; try again later")
        }
        return .declined
    }

    /// The names to look up, reading the spool a chunk at a time and stopping once the budget
    /// is spent.
    func scan(_ message: SpooledMessage, context: HookContext) async throws -> [String] {
        let maxNames = max(1, maxLookups / zones.count)
        var scanner = URIScanner(whitelist: whitelist, checkIP: checkIP, maxNames: maxNames)
        let start = scanHeaders ? 0 : message.bodyOffset
        for try await chunk in context.services.spool.chunks(of: message, from: start, chunkSize: chunkSize) {
            try Task.checkCancellation()
            scanner.scan(chunk)
            if scanner.isFull {
                context.logger.info("lookup limit reached: checking the first \(maxNames) names")
                break
            }
        }
        scanner.finish()
        for domain in scanner.whitelisted.sorted() { context.logger.info("Skipping whitelist URI domain '\(domain)'") }
        return scanner.names
    }

    /// Every name in every zone, at most `parallelLookups` at a time; a listed name's TXT record
    /// gives its description. Returns the matches in name order and how many lookups failed.
    func lookUp(_ names: [String], context: HookContext) async -> ([Match], Int) {
        let queries = names.flatMap { name in zones.map { (name: name, zone: $0) } }
        let dns = context.services.dns
        let deadline = context.deadline
        var found: [(index: Int, match: Match)] = []
        var failures = 0
        var answered = 0
        await withTaskGroup(of: (Int, Match?, Bool).self) { group in
            var next = 0
            while next < queries.count || !group.isEmpty {
                // Keep `parallelLookups` queries in flight; take one answer, start the next.
                while next < queries.count, next - answered < Self.parallelLookups {
                    let index = next
                    let query = queries[index]
                    group.addTask { await Self.query(query.name, in: query.zone, dns: dns, deadline: deadline, index: index) }
                    next += 1
                }
                guard let answer = await group.next() else { break }
                let (index, match, failed) = answer
                answered += 1
                if let match { found.append((index, match)) }
                if failed { failures += 1 }
            }
        }
        return (found.sorted { $0.index < $1.index }.map(\.match), failures)
    }

    /// One name in one zone: `(index, match or nil, whether DNS failed)`.
    private static func query(
        _ name: String, in zone: URIBLZone, dns: any DNSResolver, deadline: ContinuousClock.Instant, index: Int
    ) async -> (Int, Match?, Bool) {
        let answers: [String]
        do {
            answers = try await dns.lookup("\(name).\(zone.zone)", .a, deadline: deadline).compactMap { record -> String? in
                if case .a(let ip) = record { return ip }
                return nil
            }
        } catch {
            return (index, nil, DNSFailurePolicy.isFailure(error))
        }
        guard let listed = answers.first(where: zone.isListed) else { return (index, nil, false) }
        // The TXT record, when there is one, says why; otherwise the A answer stands for it.
        let reason = (try? await dns.txt(of: "\(name).\(zone.zone)", deadline: deadline).first) ?? listed
        return (index, Match(action: zone.action, description: "\(name) in \(zone.zone): \(reason)"), false)
    }
}
