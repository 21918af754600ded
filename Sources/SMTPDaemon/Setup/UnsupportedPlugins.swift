/// Every qpsmtpd plugin name (1.00 and Debian's 0.94, with old names and `async/` variants)
/// that this daemon does not load, with what to do instead, so `check-config` can say more than
/// "unknown plugin". A test checks that no name here is registered: when a plugin arrives, its
/// line goes.
public enum UnsupportedPlugins {
    /// Not written yet; the word after it says where it will come from.
    private static let notYet = "not yet supported"

    public static let explanations: [String: String] = [
        // Senders, recipients and connection policy.
        "qmail_deliverable": "\(notYet): it asks qmail-deliverabled, which needs a qmail installation",
        "check_qmail_deliverable": "old name of qmail_deliverable, \(notYet)",

        // Authentication.
        "auth/auth_vpopmail": "not supported: it links vpopmail's own library and must run as the vpopmail user; use auth/auth_checkpassword with vchkpw",
        "auth/auth_vpopmail_sql": "not supported: it reads vpopmail's MySQL tables directly; use auth/auth_checkpassword with vchkpw",
        "auth/auth_vpopmaild": "\(notYet); meanwhile use auth/auth_checkpassword with vchkpw",
        "auth/auth_cvm_unix_local": "not supported: CVM is rarely installed; use auth/auth_checkpassword (a checkpassword program for local users) or auth/auth_imap",
        "auth/auth_ldap_bind": "\(notYet): it needs an LDAP client; meanwhile use auth/auth_imap against a server that checks LDAP, or auth/auth_checkpassword",
        "auth/authnull": "removed from qpsmtpd in 0.42 (it accepted every password); use auth/authdeny for tests",

        // TLS.
        "tls_cert": "a script, not a plugin: make a certificate with 'openssl req -x509 -newkey rsa:2048 -nodes -keyout ssl/qpsmtpd-server.key -out ssl/qpsmtpd-server.crt'",
        "stunnel": "not needed: the tls plugin serves implicit TLS itself (listen on port 465); stunnel's PROXY line is not read",

        // DNS and authentication results.
        "sender_permitted_from": "\(notYet) (SPF)",
        "dkim": "\(notYet) (DKIM)",
        "dmarc": "\(notYet): it needs SPF and DKIM first",
        "domainkeys": "not supported: DomainKeys (RFC 4870) is historic and replaced by DKIM",

        // Content filters.
        "dspam": "not supported: DSPAM is no longer maintained (and not in Debian 12); use spamassassin, which asks spamd",
        "virus/aveclient": "not supported: Kaspersky's aveclient is discontinued; use virus/clamdscan (clamd) or virus/clamav (ClamAV's command-line scanner)",
        "virus/bitdefender": "not supported: BitDefender's bdc scanner is discontinued; use virus/clamdscan (clamd) or virus/clamav (ClamAV's command-line scanner)",
        "virus/hbedv": "not supported: H+BEDV AntiVir's command-line scanner is discontinued; use virus/clamdscan (clamd) or virus/clamav (ClamAV's command-line scanner)",
        "virus/kavscanner": "not supported: Kaspersky's kavscanner is discontinued; use virus/clamdscan (clamd) or virus/clamav (ClamAV's command-line scanner)",
        "virus/sophie": "not supported: the Sophie daemon is discontinued; use virus/clamdscan (clamd) or virus/clamav (ClamAV's command-line scanner)",
        "virus/uvscan": "not supported: McAfee's uvscan is discontinued; use virus/clamdscan (clamd) or virus/clamav (ClamAV's command-line scanner)",
        "virus/check_for_hi_virus": "removed from qpsmtpd in 0.80",
        "check_for_hi_virus": "removed from qpsmtpd in 0.80",

        // Identification.
        "ident/geoip": "\(notYet): it needs a GeoIP database and library",
        "ident/p0f": "\(notYet): it asks a running p0f daemon",

        // Logging (an old contributed variant).
        "logging/file_connection": "use 'logging/file nosplit reopen PATH' (add %i to PATH for a file per connection)",

        // Miscellaneous.
        "user_config": "not supported: per-user config files under home directories are read by no plugin here",
        "http_config": "not supported: config is read at start and on SIGHUP, never fetched per lookup from a web server",
        "karma_tool": "a script for karma's Perl database, not a plugin",
        "registry.txt": "a table for qpsmtpd's log tools, not a plugin",
    ]

    /// What `check-config` says for `name`, or nil when it is no qpsmtpd name we know.
    public static func explanation(for name: String) -> String? { explanations[name] }
}
