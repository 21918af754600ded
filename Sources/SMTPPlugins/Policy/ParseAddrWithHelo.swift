public import SMTPPluginAPI

/// `parse_addr_withhelo`: a client that greeted with HELO (not EHLO) speaks RFC 821, which has
/// no ESMTP parameters: `MAIL FROM:<a@b> SIZE=10` is refused with `501 5.5.4 No parameters
/// allowed in MAIL` (and `… in RCPT`). qpsmtpd does this in its own address parser, given at the
/// mail_parse/rcpt_parse hooks. Our engine does not deliver those hooks (it parses every path
/// itself, by RFC 5321), so this plugin checks the parsed parameters at the mail and rcpt hooks:
/// list it before the plugins that judge senders and recipients. The rest of qpsmtpd's strict
/// parser (`from:`/`to:` prefix, one path, `<>` for an empty MAIL) is what the engine's parser
/// already requires; the engine refuses any RCPT parameter itself, before the hook.
public struct ParseAddrWithHelo: SMTPPlugin {
    public init(context: PluginContext) throws {
        guard context.arguments.words.isEmpty else {
            throw PluginArgumentError("parse_addr_withhelo takes no arguments")
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onMail { context, _, _, parameters in check(context, parameters, command: "MAIL") }
        hooks.onRcpt { context, _, _, parameters in check(context, parameters, command: "RCPT") }
    }

    func check(_ context: HookContext, _ parameters: [ESMTPParameter], command: String) -> HookResult {
        guard context.connection.hello == .helo, !parameters.isEmpty else { return .declined }
        context.logger.info("fail: parameters after HELO: \(parameters.map(\.keyword).joined(separator: " "))")
        // qpsmtpd's parser refusal is a 501, not the hook's 550: the command's syntax is wrong.
        return .done(SMTPReply(501, .invalidArguments, "No parameters allowed in \(command)"))
    }
}
