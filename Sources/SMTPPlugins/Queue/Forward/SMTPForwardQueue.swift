public import SMTPPluginAPI

/// `queue/smtp-forward host [port] [xclient] [proxy] [tls_verify none|system|PATH]` (also
/// `async/queue/smtp-forward`): hands each message to another SMTP server, port 25 by default,
/// and answers `250 queued as <its queue id>` only once that server took it.
///
/// With `proxy` the downstream conversation runs alongside the client's instead (Haraka's
/// smtp_proxy): MAIL opens it, each RCPT is asked downstream before we answer it, DATA streams at
/// queue. STARTTLS is used whenever offered, without checking the certificate unless
/// `tls_verify` says how (then it is required). XCLIENT is sent when asked for and offered.
public struct SMTPForwardQueue: SMTPPlugin {
    let arguments: ForwardArguments
    let delivery: ForwardDelivery
    let proxy: SMTPForwardProxy?

    public init(context: PluginContext) throws {
        arguments = try ForwardArguments(context.arguments, defaultPort: 25, flags: ["xclient", "proxy"], allowsSocket: false)
        var options = DownstreamOptions(endpoint: arguments.endpoint, dialect: .smtp, helloName: context.services.hostName)
        options.tls = arguments.tls
        options.xclient = arguments.xclient
        // The proxy opens one conversation per transaction; the queue mode reuses connections.
        let pool = arguments.proxy ? nil : DownstreamPool()
        delivery = ForwardDelivery(options: options, connector: context.services.connector, pool: pool)
        proxy = arguments.proxy ? SMTPForwardProxy(delivery: delivery, instance: context.instanceName) : nil
    }

    public func register(into hooks: inout HookRegistry) {
        if let proxy {
            proxy.register(into: &hooks)
        } else {
            hooks.onQueue { context, transaction in
                await delivery.deliver(transaction, context: context)
            }
        }
    }
}
