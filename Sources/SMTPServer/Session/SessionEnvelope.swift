import SMTPCore
import SMTPPluginAPI

/// HELO/EHLO, MAIL and RCPT: the commands that build the envelope.
extension SMTPSession {
    /// HELO/EHLO. qpsmtpd refuses a second greeting with 503; RFC 5321 §4.1.4 lets a client greet
    /// again and says the server must then reset as for RSET, which is what we do.
    func greeting(_ verb: SMTPVerb, _ argument: String) async {
        // The machine refused an empty argument already.
        let words = argument.split(separator: " ").map(String.init)
        let host = words.first ?? argument
        await resetTransaction()
        _ = connection.takeAdvertisedCapabilities()
        let point: HookPoint = verb == .ehlo ? .ehlo : .helo
        let outcome = await hooks.run(point, call(.greeting(host: host, words: Array(words.dropFirst()))))
        let firstLine = "\(settings.hostName) Hi \(connection.remoteInfo) [\(connection.remoteIP)]"
        var lines = [verb == .ehlo ? firstLine : firstLine + "; I am so happy to meet you."]
        if verb == .ehlo {
            lines += ["PIPELINING", "8BITMIME"]
            if settings.limits.maxMessageSize > 0 { lines.append("SIZE \(settings.limits.maxMessageSize)") }
            lines.append("ENHANCEDSTATUSCODES")
            if machine.advertisesStartTLS { lines.append("STARTTLS") }
            if machine.advertisesAuth { lines.append("AUTH " + authMechanisms.map(\.rawValue).joined(separator: " ")) }
            lines += connection.takeAdvertisedCapabilities()
        }
        // RFC 2034 §3: no enhanced code in the HELO/EHLO reply.
        let accept = Response(reply: SMTPReply(code: 250, lines: lines))
        let response = CommandResponses.greeting(outcome, verb: verb.rawValue, accept: accept)
        if response.reply.code == 250 {
            let kind: SMTPHello = verb == .ehlo ? .ehlo : .helo
            machine.apply(.helloAccepted(kind))
            connection.hello = kind
            connection.helloHost = host
        }
        respond(response)
    }

    func mail(_ argument: String) async {
        // qmail semantics, kept by qpsmtpd: MAIL always starts a new transaction.
        await resetTransaction()
        let txn = Transaction(id: SessionIDs.next())
        transaction = txn
        guard let (sender, parameters) = await envelopePath(
            argument, verb: "mail", preHook: .mailPre, split: PathParser.splitMailArgument,
            parse: PathParser.parseReversePath, unparsable: "could not parse your mail from command", badSyntax: .badSenderSyntax)
        else { return }
        if let refusal = checkMailParameters(parameters) {
            respond(refusal)
            return
        }
        let response = CommandResponses.mail(await hooks.run(.mail, call(.sender(sender, parameters))), sender: sender)
        if response.reply.code == 250 {
            machine.apply(.senderAccepted)
            txn.sender = sender
            txn.senderParameters = parameters
        }
        respond(response)
    }

    /// SIZE (RFC 1870) and BODY (RFC 6152) are ours; AUTH= (RFC 4954) is accepted for the auth
    /// plugins; anything else was never advertised, so RFC 5321 §4.1.1.11 asks for 555.
    func checkMailParameters(_ parameters: [ESMTPParameter]) -> Response? {
        for parameter in parameters {
            switch parameter.keyword {
            case "SIZE":
                guard let text = parameter.value, let size = Int(text), size >= 0 else {
                    return Response(501, .invalidArguments, "Syntax error in SIZE parameter")
                }
                let limit = settings.limits.maxMessageSize
                if limit > 0 && size > limit {
                    return Response(552, .messageTooBig, "Message size exceeds fixed maximum message size (\(limit) octets)")
                }
            case "BODY":
                guard let value = parameter.value?.uppercased(), value == "7BIT" || value == "8BITMIME" else {
                    return Response(501, .invalidArguments, "BODY must be 7BIT or 8BITMIME")
                }
            case "AUTH":
                continue
            default:
                return Response(555, .invalidArguments, "Unsupported parameter \(parameter.keyword)")
            }
        }
        return nil
    }

    func rcpt(_ argument: String) async {
        // The machine checked the sequence and the recipient limit.
        guard let txn = transaction else { return }
        guard let (recipient, parameters) = await envelopePath(
            argument, verb: "rcpt", preHook: .rcptPre, split: PathParser.splitRcptArgument,
            parse: PathParser.parseForwardPath, unparsable: "could not parse recipient", badSyntax: .badDestinationSyntax)
        else { return }
        if let parameter = parameters.first {
            respond(Response(555, .invalidArguments, "Unsupported parameter \(parameter.keyword)"))
            return
        }
        let response = CommandResponses.rcpt(await hooks.run(.rcpt, call(.recipient(recipient, parameters))), recipient: recipient)
        if response.reply.code == 250 {
            machine.apply(.recipientAccepted)
            txn.addRecipient(recipient)
        }
        respond(response)
    }

    /// MAIL and RCPT share their first steps (reference §1.6): split the argument, let `*_pre`
    /// plugins rewrite the path (`dont_require_anglebrackets`), then parse it. Answers and returns
    /// nil when any step refuses.
    func envelopePath<Path>(
        _ argument: String, verb: String, preHook: HookPoint,
        split: (String) throws(PathSyntaxError) -> PathArgument,
        parse: (String) throws(PathSyntaxError) -> Path,
        unparsable: String, badSyntax: EnhancedStatusCode
    ) async -> (Path, [ESMTPParameter])? {
        let parts: PathArgument
        do {
            parts = try split(argument)
        } catch {
            respond(Response(501, .syntaxError, error.message))
            return nil
        }
        var pathText = parts.path ?? ""
        switch await hooks.run(preHook, call(.path(pathText, parts.parameters))) {
        case .answered(.ok(let replacement?), _): pathText = replacement
        case .failed(let plugin, _):
            respond(CommandResponses.failure(verb, plugin: plugin))
            return nil
        default: break
        }
        do throws(PathSyntaxError) {
            guard !pathText.isEmpty else { throw PathSyntaxError(unparsable) }
            return (try parse(pathText), parts.parameters)
        } catch {
            respond(Response(501, badSyntax, error.message))
            return nil
        }
    }
}
