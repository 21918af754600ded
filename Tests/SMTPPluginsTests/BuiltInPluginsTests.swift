import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

@Suite struct BuiltInPluginsTests {
    @Test func namesAreUnique() {
        let names = BuiltInPlugins.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.contains("queue/maildir"))
    }

    /// What `register(into:)` actually registered, with `logging` for log handlers.
    private func registered(_ plugin: any SMTPPlugin) -> Set<HookPoint> {
        var registry = HookRegistry()
        plugin.register(into: &registry)
        var points = Set(HookPoint.allCases.filter { registry.has($0) })
        if !registry.loggers.isEmpty { points.insert(.logging) }
        return points
    }

    @Test func hooksAreWhatRegistrationRegisters() throws {
        let maildir = try TemporaryDirectory()
        try maildir.write("cert.pem", "x")
        try maildir.write("key.pem", "x")
        try maildir.write("map", "a@example.org OK\n")
        let syslog = try SyslogReceiver()
        // Arguments that make each plugin register everything it can, and what that is.
        let cases: [String: ([String], Set<HookPoint>)] = [
            "relay": (["only", "1"], [.connect, .rcpt]),
            "check_relay": ([], [.connect]),
            "check_norelay": ([], [.connect]),
            "relay_only": ([], [.connect, .rcpt]),
            "rcpt_ok": ([], [.rcpt]),
            "queue/maildir": ([maildir.path + "/Maildir"], [.queue]),
            "queue/discard": ([], [.queue]),
            "queue/qmail-queue": ([], [.queue]),
            "queue/exim-bsmtp": (["exim_path", "/usr/sbin/exim4"], [.queue]),
            "queue/postfix-queue": ([], [.queue]),
            "queue/smtp-forward": (["127.0.0.1"], [.queue]),
            "async/queue/smtp-forward": (["127.0.0.1", "2525", "proxy"], [.mail, .rcpt, .queue, .resetTransaction]),
            "queue/lmtp": (["/run/dovecot/lmtp"], [.queue]),
            "milter": (["dkim", "inet:8891@127.0.0.1"], [.connect, .helo, .ehlo, .mail, .rcpt, .data, .dataPost, .resetTransaction, .unrecognizedCommand, .disconnect]),
            "count_unrecognized_commands": (["5"], [.unrecognizedCommand]),
            "dont_require_anglebrackets": ([], [.mailPre, .rcptPre]),
            "logging/warn": (["6"], [.logging]),
            // The tls plugin only checks that the files can be read; it provides TLS, no hook.
            "tls": ([maildir.path + "/cert.pem", maildir.path + "/key.pem"], []),
            "auth/auth_flat_file": ([], [.authPlain, .authLogin, .authCramMD5]),
            "auth/auth_checkpassword": (["checkpw", "/bin/false", "true", "/bin/true"], [.authPlain, .authLogin]),
            "auth/auth_imap": (["127.0.0.1"], [.authPlain, .authLogin]),
            "auth/authdeny": ([], [.auth]),
            "dnsbl": ([], [.connect, .rcpt, .disconnect]),
            "async/dnsbl": ([], [.connect, .rcpt, .disconnect]),
            "rhsbl": ([], [.mail]),
            "async/rhsbl": ([], [.mail]),
            "resolvable_fromhost": ([], [.mail]),
            "require_resolvable_fromhost": ([], [.mail]),
            "async/resolvable_fromhost": ([], [.mail]),
            "dns_whitelist_soft": ([], [.connect, .rcpt, .disconnect]),
            "async/dns_whitelist_soft": ([], [.connect, .rcpt, .disconnect]),
            "fcrdns": ([], [.connect]),
            "helo": ([], [.helo, .ehlo, .dataPost]),
            // Without uribl_zones there is nothing to check: uribl registers nothing.
            "uribl": ([], []),
            "async/uribl": ([], []),
            "badmailfrom": ([], [.mail]),
            "check_badmailfrom": ([], [.mail]),
            "check_badmailfrom_patterns": ([], [.mail]),
            "badmailfromto": ([], [.mail, .rcpt]),
            "check_badmailfromto": ([], [.mail, .rcpt]),
            "badrcptto": ([], [.rcpt]),
            "check_badrcptto": ([], [.rcpt]),
            "check_badrcptto_patterns": ([], [.rcpt]),
            "rcpt_map": (["domain", "example.org", "file", maildir.path + "/map"], [.connect, .rcpt]),
            "rcpt_regexp": ([], [.rcpt]),
            "whitelist": ([], [.connect, .helo, .ehlo, .mail, .rcpt]),
            "bogus_bounce": ([], [.dataPost]),
            "check_bogus_bounce": ([], [.dataPost]),
            "parse_addr_withhelo": ([], [.mail, .rcpt]),
            "check_spamhelo": ([], [.helo, .ehlo]),
            "headers": ([], [.dataPost]),
            "check_basicheaders": ([], [.dataPost]),
            "loop": ([], [.dataPost]),
            "check_loop": ([], [.dataPost]),
            "earlytalker": (["defer-reject", "1"], [.connect, .data, .mail]),
            "check_earlytalker": (["defer-reject", "1"], [.connect, .data, .mail]),
            "async/earlytalker": (["defer-reject", "1"], [.connect, .data, .mail]),
            "async/check_earlytalker": (["defer-reject", "1"], [.connect, .data, .mail]),
            "hosts_allow": ([], [.preConnection]),
            "loadcheck": ([], [.connect]),
            "random_error": ([], [.connect, .helo, .ehlo, .mail, .rcpt, .data, .dataPost]),
            "quit_fortune": ([], [.quit]),
            "help": ([], [.help]),
            "connection_time": ([], [.preConnection, .connect, .postConnection]),
            "content_log": ([], [.dataPost]),
            "noop_counter": ([], [.noop, .helo, .ehlo, .mail, .rcpt, .data, .resetTransaction, .vrfy, .help]),
            "greylisting": (["recipient", "1"], [.rcpt, .data]),
            "denysoft_greylist": ([], [.mail, .data]),
            "karma": ([], [.connect, .rcpt, .queuePost, .deny, .disconnect]),
            "naughty": (["reject", "mail"], [.mail, .dataPost]),
            "logging/file": ([maildir.path + "/qpsmtpd.log"], [.logging, .postConnection]),
            "logging/syslog": (["logsock", syslog.path], [.logging]),
            "logging/adaptive": ([], [.logging, .deny, .resetTransaction, .postConnection]),
            "logging/devnull": ([], [.logging]),
            "logging/connection_id": ([], [.logging]),
            "logging/transaction_id": ([], [.logging, .mail, .resetTransaction, .postConnection]),
            "logging/apache": ([], [.logging]),
            "spamassassin": (["reject", "10"], [.dataPost]),
            "virus/clamdscan": (["scan_all", "1"], [.dataPost]),
            "virus/clamav": (["action=reject"], [.dataPost]),
            "clamav": ([], [.dataPost]),
            "virus/klez_filter": ([], [.dataPost]),
            "klez_filter": ([], [.dataPost]),
            "rspamd": ([], [.dataPost]),
        ]
        #expect(Set(cases.keys) == Set(BuiltInPlugins.all.map(\.name)), "every built-in plugin has a case")
        for (name, type) in BuiltInPlugins.all {
            guard let (arguments, expected) = cases[name] else { continue }
            let plugin = try type.init(context: Fixture.context(name, arguments))
            #expect(registered(plugin) == expected, "\(name)")
            // The registry records the same, per plugin, for check-config.
            var registry = HookRegistry()
            registry.registrant.name = name
            plugin.register(into: &registry)
            #expect(Set(registry.hooksByPlugin.flatMap(\.hooks)) == expected, "\(name)")
        }
        // Fewer arguments may register fewer hooks, never others.
        let plainRelay = try Relay(context: Fixture.context("relay"))
        #expect(registered(plainRelay) == [.connect])
    }
}
