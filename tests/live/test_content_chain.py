"""spamassassin and virus/clamdscan in one chain against the real spamd and clamd (the fixtures of
test_spamassassin.py and test_clamav.py): what a message costs with both, in messages per second."""
from __future__ import annotations

from conftest import MEASUREMENTS
from smtp_helpers import dot_stuff, expect, make_message
from scanner_daemons import EICAR, EICAR_FOUND_NAME as FOUND_NAME, GTUBE, clamd, spamd  # noqa: F401 (fixtures)
from test_clamav import with_attachment

SENDER, RCPT = "alice@client.example", "u@test.example"


def test_messages_per_second_through_spamd_and_clamd(start_daemon, spamd, clamd):
    chain = (f"rcpt_ok\nvirus/clamdscan clamd_socket {clamd.socket_path}\n"
             f"spamassassin reject 10 spamd_socket {spamd.tcp}\nqueue/maildir {{maildir}}")
    d = start_daemon({"plugins": chain})
    c = d.client()
    c.ehlo()
    # Each scanner still does its part in the chain.
    expect(c.send_message(SENDER, [RCPT], dot_stuff(with_attachment(EICAR))), 554, contains=f"Virus found: {FOUND_NAME}")
    expect(c.send_message(SENDER, [RCPT], dot_stuff(make_message(GTUBE + b"\n"))), 554, contains="spam score exceeded threshold")
    n = 20
    rate = c.send_all(SENDER, [RCPT], [dot_stuff(with_attachment(b"file %d\n" % i * 100)) for i in range(n)])
    stored = d.wait_messages(n, timeout=30)
    assert all(b"X-Virus-Checked: Checked by ClamAV" in m and b"X-Spam-Status: No" in m for m in stored)
    MEASUREMENTS.append(f"clamdscan + spamassassin: {rate:.1f} messages/s (one connection, ~2 KB attachments)")
