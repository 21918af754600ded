import Logging
import SMTPDaemon
import SMTPPluginAPI
import Testing

/// check-config's table of qpsmtpd plugins we do not load. When a plugin is implemented, the
/// first test fails until its line leaves the table.
@Suite struct UnsupportedPluginsTests {
    /// Every plugin name of qpsmtpd 1.00 and Debian's 0.94 (reference §4, with §4.10's old names,
    /// removed plugins and the `async/` variants).
    static let qpsmtpdNames = [
        "hosts_allow", "relay", "rcpt_ok", "rcpt_map", "rcpt_regexp", "qmail_deliverable", "badmailfrom",
        "badmailfromto", "badrcptto", "bogus_bounce", "earlytalker", "count_unrecognized_commands", "noop_counter",
        "helo", "headers", "loop", "resolvable_fromhost", "dont_require_anglebrackets", "parse_addr_withhelo",
        "loadcheck", "whitelist", "greylisting", "karma", "naughty",
        "dnsbl", "rhsbl", "dns_whitelist_soft", "fcrdns", "uribl", "sender_permitted_from", "dkim", "dmarc", "domainkeys",
        "auth/auth_flat_file", "auth/auth_checkpassword", "auth/auth_cvm_unix_local", "auth/auth_imap",
        "auth/auth_ldap_bind", "auth/auth_vpopmail", "auth/auth_vpopmail_sql", "auth/auth_vpopmaild", "auth/authdeny",
        "tls", "tls_cert", "stunnel",
        "spamassassin", "dspam", "virus/clamdscan", "virus/clamav", "virus/aveclient", "virus/bitdefender",
        "virus/hbedv", "virus/kavscanner", "virus/klez_filter", "virus/sophie", "virus/uvscan",
        "ident/geoip", "ident/p0f",
        "queue/qmail-queue", "queue/smtp-forward", "queue/postfix-queue", "queue/maildir", "queue/exim-bsmtp",
        "logging/warn", "logging/file", "logging/syslog", "logging/adaptive", "logging/apache",
        "logging/connection_id", "logging/transaction_id", "logging/devnull",
        "quit_fortune", "help", "random_error", "connection_time", "content_log", "milter", "user_config",
        "http_config", "karma_tool", "registry.txt",
        // Old names and removed plugins.
        "check_relay", "check_norelay", "relay_only", "require_resolvable_fromhost", "check_spamhelo",
        "check_basicheaders", "check_loop", "check_badmailfrom", "check_badmailfrom_patterns", "check_badrcptto",
        "check_badrcptto_patterns", "check_badmailfromto", "check_earlytalker", "check_bogus_bounce",
        "virus/check_for_hi_virus", "auth/authnull",
        "async/dns_whitelist_soft", "async/dnsbl", "async/earlytalker", "async/queue/smtp-forward",
        "async/resolvable_fromhost", "async/rhsbl", "async/uribl",
    ]

    @Test func noNameInTheTableIsRegistered() {
        let registered = Set(PluginRegistry.builtIn.names)
        let both = Set(UnsupportedPlugins.explanations.keys).intersection(registered)
        #expect(both.isEmpty, "implemented now, drop from UnsupportedPlugins.swift: \(both.sorted())")
    }

    @Test func everyQpsmtpdNameIsRegisteredOrExplained() {
        let registered = Set(PluginRegistry.builtIn.names)
        let missing = Self.qpsmtpdNames.filter { !registered.contains($0) && UnsupportedPlugins.explanation(for: $0) == nil }
        #expect(missing.isEmpty, "add to UnsupportedPlugins.swift: \(missing)")
        #expect(Self.qpsmtpdNames.count >= 78)
    }

    @Test func theLoaderExplainsInsteadOfSayingUnknown() throws {
        // check_relay, an alias of relay, loads; the others are explained or unknown.
        let config = InMemoryConfigStore(["plugins": ["auth/auth_vpopmail", "virus/uvscan", "check_relay", "no_such_plugin"]])
        let (_, errors) = PluginLoader(registry: .builtIn, config: config, services: PluginServices(hostName: "mx.test.example"), logger: .init(label: "test")).load()
        let messages = errors.map(\.description)
        #expect(messages.count == 3)
        #expect(messages[0].contains("plugin 'auth/auth_vpopmail': not supported: it links vpopmail's own library"))
        #expect(messages[1].contains("plugin 'virus/uvscan': not supported: McAfee's uvscan is discontinued; use virus/clamdscan"))
        #expect(messages[2].contains("unknown plugin 'no_such_plugin'"))
    }
}
