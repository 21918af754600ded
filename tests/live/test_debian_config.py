"""Debian 12's default /etc/qpsmtpd (qpsmtpd 0.94-5, kept in data/debian-qpsmtpd-0.94) runs
unchanged: only the paths that point outside the test directory are moved into it, and the two
files Debian's postinst writes from debconf answers (`debian-queue-method`,
`debian-rcpthosts`) are written here. check-config accepts it, serve delivers a message.
First with the DNS plugins it lists (rhsbl, dnsbl) on empty zone files, as Debian ships
them; then with one zone added to each and `dns_servers` pointing at the tests' unbound,
so they refuse a listed client and a listed sender domain and still pass clean mail."""

import subprocess
from pathlib import Path

from dns_helpers import a, dns_server, dnsbl_listing, txt  # noqa: F401 (dns_server: fixture)
from smtp_helpers import SMTPClient

DATA = Path(__file__).parent / "data" / "debian-qpsmtpd-0.94"

# Debian path -> where it goes in the test directory ({maildir} is <base>/Maildir).
MOVED = {
    "/etc/qpsmtpd/debian-queue-method": "{maildir}/../config/debian-queue-method",
    "/etc/qpsmtpd/debian-rcpthosts": "{maildir}/../config/debian-rcpthosts",
    "/var/log/qpsmtpd/qpsmtpd.log": "{maildir}/../qpsmtpd-file.log",
    "/var/spool/qpsmtpd": "{maildir}/../spool",
}


def debian_config() -> dict[str, str | None]:
    files: dict[str, str | None] = {}
    for path in sorted(DATA.iterdir()):
        if path.name == "README.md":
            continue
        text = path.read_text()
        for old, new in MOVED.items():
            text = text.replace(old, new)
        files[path.name] = text
    files["debian-queue-method"] = "queue/maildir {maildir}\n"
    files["debian-rcpthosts"] = "test.example\n"
    # The harness's own defaults that Debian does not ship go away: Debian's files stand alone.
    for extra in ("me", "timeout", "size_threshold"):
        files.setdefault(extra, None)
    return files


def deliver_one(d, source: str = "127.0.0.1") -> None:
    """A clean message from `source`, through the whole of Debian's chain, reaches the Maildir."""
    with SMTPClient(d.host, d.port, source=(source, 0), timeout=20) as c:
        # check_earlytalker waits a second before the greeting; the client waits politely.
        assert c.reply().code == 220
        assert c.cmd("EHLO client.test.example").code == 250
        assert c.cmd("MAIL FROM:<sender@test.example>").code == 250
        assert c.cmd("RCPT TO:<user@test.example>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: debian default\r\nFrom: sender@test.example\r\n\r\nhello\r\n.\r\n")
        reply = c.reply()
        assert reply.code == 250, reply
    messages = d.wait_messages(1)
    assert b"Subject: debian default" in messages[0]


def test_debian_default_config_is_accepted_and_delivers(qpsmtpd_bin, start_daemon, tmp_path):
    d = start_daemon(config=debian_config())
    check = subprocess.run([qpsmtpd_bin, "check-config", "--config", str(d.config_dir)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    deliver_one(d)
    log = (d.maildir.parent / "qpsmtpd-file.log").read_text()
    # Debian's `logging` (logging/file loglevel LOGINFO) records the session at info level.
    assert "connect from 127.0.0.1" in log and "250 Queued!" in log, log


LISTED_CLIENT = "127.0.0.7"
UNLISTED_CLIENT = "127.0.0.9"
DNSBL_REASON = "listed in the DNSBL of the Debian test"
RHSBL_REASON = "is a spam domain in the RHSBL of the Debian test"


def test_debian_config_with_its_dns_plugins_on_the_test_dns_server(qpsmtpd_bin, start_daemon, dns_server):
    dns = dns_server([
        dnsbl_listing("bl.debian.test", LISTED_CLIENT, reason=DNSBL_REASON),
        a("spammer.test.rhs.debian.test", "127.0.0.2"), txt("spammer.test.rhs.debian.test", RHSBL_REASON),
    ])
    files = debian_config()
    # Only additions: a zone under Debian's commented examples, and where to ask.
    files["dnsbl_zones"] += "bl.debian.test\n"
    files["rhsbl_zones"] += "rhs.debian.test\n"
    files.update(dns.daemon_config(timeout=3))
    d = start_daemon(config=files)
    check = subprocess.run([qpsmtpd_bin, "check-config", "--config", str(d.config_dir)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    with SMTPClient(d.host, d.port, source=(LISTED_CLIENT, 0), timeout=20) as c:
        r = c.reply()
        assert r.code == 554 and DNSBL_REASON in r.text, r
    # Not 127.0.0.1: Debian's relayclients lists it, and relay clients skip the checks.
    with SMTPClient(d.host, d.port, source=(UNLISTED_CLIENT, 0), timeout=20) as c:
        assert c.reply().code == 220
        assert c.cmd("EHLO client.test.example").code == 250
        r = c.cmd("MAIL FROM:<someone@spammer.test>")
        assert r.code == 550 and f"Mail from spammer.test rejected because it {RHSBL_REASON}" in r.text, r
    deliver_one(d, source=UNLISTED_CLIENT)
