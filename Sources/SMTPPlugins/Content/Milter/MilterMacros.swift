import SMTPCore
import SMTPPluginAPI

/// The stages a milter may ask macros for (SMFIM_* in mfdef.h), with the command each one's
/// SMFIC_MACRO packet names.
enum MilterMacroStage: UInt32, Sendable, Hashable, CaseIterable {
    case connect = 0, helo, mail, rcpt, data, endOfMessage, endOfHeaders

    var command: Character {
        switch self {
        case .connect: return "C"
        case .helo: return "H"
        case .mail: return "M"
        case .rcpt: return "R"
        case .data: return "T"
        case .endOfMessage: return "E"
        case .endOfHeaders: return "N"
        }
    }

    /// What we send when the milter did not ask: Postfix's defaults (milter_*_macros), which is
    /// what milters written for Postfix expect.
    var defaultNames: [String] {
        switch self {
        case .connect: return ["j", "{daemon_name}", "{daemon_addr}", "v", "_", "{client_addr}", "{client_port}", "{client_name}", "{client_ptr}"]
        case .helo: return ["{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"]
        case .mail: return ["i", "{auth_type}", "{auth_authen}", "{auth_ssf}", "{auth_author}", "{mail_addr}", "{mail_host}", "{mail_mailer}"]
        case .rcpt: return ["{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"]
        case .data, .endOfHeaders, .endOfMessage: return ["i"]
        }
    }
}

/// One macro as sent: Sendmail's name (`j`, `{client_addr}`) and its value.
struct MilterMacro: Sendable, Hashable {
    var name: String
    var value: String
}

/// The values we know for Sendmail's macro names, from the session. A name we have no value for
/// is left out, as Postfix leaves it out.
struct MilterMacroValues {
    var connection: Connection
    var transaction: Transaction?
    var hostName: String
    /// The recipient being sent at the RCPT stage.
    var recipient: String?
    /// The sender at the MAIL stage, before the session has stored it in the transaction.
    var mailSender: ReversePath?

    private var sender: ReversePath? { mailSender ?? transaction?.sender }

    func value(of name: String) -> String? {
        let bare = name.hasPrefix("{") && name.hasSuffix("}") ? String(name.dropFirst().dropLast()) : name
        switch bare {
        case "j": return hostName
        case "daemon_name": return "qpsmtpd"
        case "v": return "qpsmtpd"
        case "daemon_addr", "if_addr": return connection.localIP
        case "daemon_port": return String(connection.localPort)
        case "_": return "\(connection.remoteHost ?? "unknown") [\(connection.remoteIP)]"
        case "client_addr": return connection.remoteIP
        case "client_port": return String(connection.remotePort)
        case "client_name": return connection.remoteHost ?? "unknown"
        case "client_ptr": return connection.remoteHost ?? "unknown"
        case "s": return connection.helloHost
        case "tls_version", "cipher": return connection.tlsCipher
        case "auth_type": return connection.authMechanism
        case "auth_authen": return connection.authUser
        case "i": return transaction?.id
        case "mail_addr": return sender?.address
        case "mail_host": return sender?.mailbox?.domain
        case "mail_mailer": return sender == nil ? nil : "smtp"
        case "rcpt_mailer": return recipient == nil ? nil : "smtp"
        case "rcpt_addr": return recipient
        case "rcpt_host": return recipient.flatMap { $0.split(separator: "@").last.map(String.init) }
        default: return nil
        }
    }

    func macros(named names: [String]) -> [MilterMacro] {
        names.compactMap { name in value(of: name).map { MilterMacro(name: name, value: $0) } }
    }
}
