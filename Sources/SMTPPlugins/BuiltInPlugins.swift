public import SMTPPluginAPI

/// The plugins this package ships, under the names `config/plugins` uses.
public enum BuiltInPlugins {
    public static let all: [(name: String, type: any SMTPPlugin.Type)] = [
        ("relay", Relay.self),
        ("rcpt_ok", RcptOK.self),
        ("queue/maildir", MaildirQueue.self),
        ("queue/discard", DiscardQueue.self),
        ("count_unrecognized_commands", CountUnrecognizedCommands.self),
        ("dont_require_anglebrackets", DontRequireAngleBrackets.self),
        ("logging/warn", WarnLogger.self),
        ("tls", TLSPlugin.self),
        ("auth/auth_flat_file", AuthFlatFile.self),
        ("auth/auth_checkpassword", AuthCheckpassword.self),
        ("auth/auth_imap", AuthIMAP.self),
        ("auth/authdeny", AuthDeny.self),
        ("dnsbl", DNSBL.self),
        ("async/dnsbl", DNSBL.self),
        ("rhsbl", RHSBL.self),
        ("async/rhsbl", RHSBL.self),
        ("resolvable_fromhost", ResolvableFromHost.self),
        ("require_resolvable_fromhost", ResolvableFromHost.self),
        ("async/resolvable_fromhost", ResolvableFromHost.self),
        ("dns_whitelist_soft", DNSWhitelistSoft.self),
        ("async/dns_whitelist_soft", DNSWhitelistSoft.self),
        ("fcrdns", FCrDNS.self),
        ("helo", Helo.self),
        ("uribl", URIBL.self),
        ("async/uribl", URIBL.self),
        ("logging/file", FileLogger.self),
        ("logging/syslog", SyslogLogger.self),
        ("logging/adaptive", AdaptiveLogger.self),
        ("logging/devnull", DevNullLogger.self),
        ("logging/connection_id", ConnectionIDLogger.self),
        ("logging/transaction_id", TransactionIDLogger.self),
        ("logging/apache", ApacheLogger.self),
    ]
}
