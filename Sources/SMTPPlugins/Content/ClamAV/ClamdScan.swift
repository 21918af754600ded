public import SMTPPluginAPI

/// `virus/clamdscan`: streams each message to clamd (`zINSTREAM`, over a UNIX socket or TCP) at
/// data_post, as qpsmtpd's plugin does through ClamAV::Client. A virus is refused with
/// `Virus found: NAME`, or marked in X-Virus-Found/X-Virus-Details with `deny_viruses no`; a clean
/// message gets `X-Virus-Found: No` and `X-Virus-Checked: Checked by ClamAV x.y.z on <me>`. A
/// clamd that cannot be reached, times out or reports an error lets the message through
/// (qpsmtpd's default) or, with `defer_on_error yes`, defers it: `Unable to scan for viruses`.
public struct ClamdScan: SMTPPlugin {
    let settings: ClamdScanSettings

    public init(context: PluginContext) throws {
        settings = try ClamdScanSettings(context.arguments)
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onDataPost { context, transaction in
            await scan(transaction, context: context)
        }
    }

    func scan(_ transaction: Transaction, context: HookContext) async -> HookResult {
        let logger = context.logger
        guard let body = context.messageToScan(transaction, sizeLimit: settings.maxSize) else { return .declined }
        let header = transaction.header
        if !settings.scanAll && !Self.isMultipart(header) {
            logger.info("skip, not multipart")
            return .declined
        }
        let client = ClamdClient(connector: context.services.connector, endpoint: settings.endpoint)
        let deadline = context.scanDeadline
        let version: String
        let verdict: ClamdVerdict
        do {
            version = try await client.version(deadline: deadline)
            verdict = try await client.scan(OutgoingMessage(body, header: header, reader: context.services.spool), deadline: deadline)
        } catch {
            logger.error("error, clamd at \(settings.endpoint): \(error)")
            return failure()
        }
        switch verdict {
        case .error(let reply):
            logger.error("error, clamd at \(settings.endpoint): \(reply)")
            return failure()
        case .found(let name):
            logger.info("fail, virus found: \(name)")
            if settings.denyViruses { return .deny("Virus found: \(name)") }
            transaction.modifyHeader { header in
                header.append("X-Virus-Found", "Yes")
                header.append("X-Virus-Details", name)
            }
            return .declined
        case .clean:
            logger.info("pass, clean")
            let me = context.services.hostName
            transaction.modifyHeader { header in
                header.append("X-Virus-Found", "No")
                header.append("X-Virus-Checked", "Checked by \(version) on \(me)")
            }
            return .declined
        }
    }

    func failure() -> HookResult {
        settings.deferOnError ? .denySoft("4.7.1 Unable to scan for viruses") : .declined
    }

    /// qpsmtpd scans only messages with parts unless told `scan_all`: a `multipart/...` type with a boundary.
    static func isMultipart(_ header: MessageHeader) -> Bool {
        guard let type = header.value(of: "Content-Type")?.lowercased() else { return false }
        return type.hasPrefix("multipart/") && type.contains("boundary=")
    }
}
