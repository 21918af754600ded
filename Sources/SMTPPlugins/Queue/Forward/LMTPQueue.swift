public import SMTPPluginAPI

/// `queue/lmtp host [port] | /path/to/socket [tls_verify none|system|PATH]`: delivers over LMTP
/// (RFC 2033; port 24 by default), e.g. into Dovecot's mailboxes. The SMTP client of
/// `queue/smtp-forward` with LHLO, and one reply per recipient after the message
/// (`ForwardReplyMapping.lmtpMessage` says how they become ours).
public struct LMTPQueue: SMTPPlugin {
    let arguments: ForwardArguments
    let delivery: ForwardDelivery

    public init(context: PluginContext) throws {
        arguments = try ForwardArguments(context.arguments, defaultPort: 24, flags: [], allowsSocket: true)
        var options = DownstreamOptions(endpoint: arguments.endpoint, dialect: .lmtp, helloName: context.services.hostName)
        options.tls = arguments.tls
        delivery = ForwardDelivery(options: options, connector: context.services.connector, pool: DownstreamPool())
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQueue { context, transaction in
            await delivery.deliver(transaction, context: context)
        }
    }
}
