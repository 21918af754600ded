"""Debian 12's default /etc/qpsmtpd (qpsmtpd 0.94-5, kept in data/debian-qpsmtpd-0.94) runs
unchanged: only the paths that point outside the test directory are moved into it, and the two
files Debian's postinst writes from debconf answers (`debian-queue-method`,
`debian-rcpthosts`) are written here. check-config accepts it, serve delivers a message.
The DNS plugins it lists (rhsbl, dnsbl) have empty zone files, as Debian ships them."""

import subprocess
from pathlib import Path

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


def test_debian_default_config_is_accepted_and_delivers(qpsmtpd_bin, start_daemon, tmp_path):
    d = start_daemon(config=debian_config())
    check = subprocess.run([qpsmtpd_bin, "check-config", "--config", str(d.config_dir)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with SMTPClient(d.host, d.port, source=("127.0.0.1", 0), timeout=20) as c:
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
    log = (d.maildir.parent / "qpsmtpd-file.log").read_text()
    # Debian's `logging` (logging/file loglevel LOGINFO) records the session at info level.
    assert "connect from 127.0.0.1" in log and "250 Queued!" in log, log
