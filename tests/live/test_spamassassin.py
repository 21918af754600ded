"""spamassassin against a real spamd (Debian's spamd/spamassassin packages, installed by
.ci/run): a private spamd on a 127.0.0.1 port and a UNIX socket, with the package's rules,
a site config of our own (--siteconfigpath), local tests only (-L), one child, its pid file
and log in the test's directory. GTUBE is refused with qpsmtpd's text, a clean message passes
with spamd's X-Spam-* fields on top, and a spamd that is down or silent lets mail through
(qpsmtpd's fail-open default) or defers it with `defer_on_error yes`.
"""
from __future__ import annotations

import email.utils
import re
import time

from conftest import MEASUREMENTS
from scanner_fakes import FakePeer
from scanner_daemons import GTUBE, spamd  # noqa: F401 (spamd is a fixture)
from smtp_helpers import dot_stuff, expect, free_port, make_message

SENDER, RCPT = "alice@client.example", "u@test.example"


def plugins(line: str) -> str:
    return f"rcpt_ok\n{line}\nqueue/maildir {{maildir}}"


def send(d, message: bytes, rcpts: tuple[str, ...] = (RCPT,)):
    c = d.client()
    c.ehlo()
    return c.send_message(SENDER, list(rcpts), dot_stuff(message))


def header_fields(stored: bytes) -> list[tuple[str, str]]:
    """(name, raw value with folds) for each field of a delivered message, in order."""
    head = stored.split(b"\r\n\r\n", 1)[0].decode() if b"\r\n\r\n" in stored else stored.split(b"\n\n", 1)[0].decode()
    fields: list[tuple[str, str]] = []
    for line in re.split(r"\r?\n", head):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + "\n" + line)
        else:
            name, _, value = line.partition(":")
            fields.append((name, value))
    return fields


def test_gtube_is_refused_with_qpsmtpds_text(start_daemon, spamd):
    d = start_daemon({"plugins": plugins(f"spamassassin reject 10 spamd_socket {spamd.tcp}")})
    reply = send(d, make_message(b"Buy now.\n" + GTUBE + b"\n"))
    expect(reply, 554, contains="spam score exceeded threshold")
    assert d.messages() == []


def test_clean_message_passes_with_spamds_headers(start_daemon, spamd):
    d = start_daemon({"plugins": plugins(f"spamassassin reject 10 spamd_socket {spamd.tcp}"), "me": "mx.test.example"})
    message = make_message(b"Lunch at noon tomorrow?\n", extra_headers=[
        f"Date: {email.utils.formatdate()}", "X-Spam-Status: Yes, forged upstream", "X-Spam-Flag: YES"])
    expect(send(d, message), 250)
    stored = d.wait_messages(1)[0]
    fields = header_fields(stored)
    names = [n for n, _ in fields]
    # spamd's fields above the message's own (only Return-Path, Delivered-To and our Received
    # may come first), in spamd's order; its report is left out; no X-Spam-Flag for ham.
    first = names.index("X-Spam-Checker-Version")
    assert names[first:first + 3] == ["X-Spam-Checker-Version", "X-Spam-Level", "X-Spam-Status"], names
    assert set(names[:first]) <= {"Return-Path", "Delivered-To", "Received"}, names
    assert "X-Spam-Report" not in names and "X-Spam-Flag" not in names, names
    values = dict(fields)
    assert re.fullmatch(r" SpamAssassin \d+\.\d+\.\d+ \(\d{4}-\d\d-\d\d\) on \S+", values["X-Spam-Checker-Version"]), values
    assert re.fullmatch(r" \**", values["X-Spam-Level"]), values
    # Unfolded; spamd folds the tests list after a comma.
    status = re.sub(r",\s+(?=[A-Z_])", ",", " ".join(values["X-Spam-Status"].split()))
    assert re.fullmatch(r"No, score=-?\d+\.\d required=5\.0 tests=\S+ autolearn=\S+( autolearn_force=\S+)? version=\S+", status), status
    assert "\n\t" in values["X-Spam-Status"] or len(values["X-Spam-Status"]) < 70  # folded as spamd folds it
    # The upstream fields are renamed (leave_old_headers rename, the default), at the end.
    assert values["X-Old-Spam-Status"] == " Yes, forged upstream" and values["X-Old-Spam-Flag"] == " YES", fields
    assert names.count("X-Spam-Status") == 1 and "X-Spam-Flag" not in names
    assert stored.rstrip().endswith(b"Lunch at noon tomorrow?")


def test_spam_below_reject_is_flagged_and_subject_munged(start_daemon, spamd):
    d = start_daemon({"plugins": plugins(f"spamassassin munge_subject_threshold 5 leave_old_headers drop spamd_socket {spamd.socket_path}"),
                      "subject_prefix": "[SPAM]"})
    message = make_message(GTUBE + b"\n", subject="cheap things", extra_headers=["X-Spam-Status: old"])
    expect(send(d, message, (RCPT, "v@test.example")), 250)
    fields = header_fields(d.wait_messages(1)[0])
    values = dict(fields)
    assert values["X-Spam-Flag"] == " YES", fields
    assert values["X-Spam-Level"].strip() == "*" * 50, fields
    assert " ".join(values["X-Spam-Status"].split()).startswith("Yes, score=100"), fields
    assert "GTUBE" in values["X-Spam-Status"]
    assert values["Subject"] == " [SPAM] cheap things", fields
    # Several recipients: spamd scored as one user, and the message says so.
    assert re.fullmatch(r" \S+, 2 recipients", values["X-Spam-User"]), fields
    assert [n for n, _ in fields].count("X-Spam-Status") == 1 and "X-Old-Spam-Status" not in values  # dropped


def test_headers_none_and_userprefs(start_daemon, spamd):
    d = start_daemon({"plugins": plugins(f"spamassassin reject userprefs headers none spamd_socket {spamd.tcp}")})
    expect(send(d, make_message(b"Fine.\n")), 250)
    stored = d.wait_messages(1)[0]
    assert b"X-Spam-" not in stored.split(b"\n\n")[0].split(b"\r\n\r\n")[0]
    # spamd's own required score (5.0) decides with reject userprefs.
    expect(send(d, make_message(GTUBE + b"\n")), 554, contains="spam score exceeded threshold")
    # Without headers the plugin asks spamd for SYMBOLS (the unit tests check the request): the
    # rules' names come from that answer, there being no X-Spam-Status to read them from.
    assert re.search(r"spamd: score 1\d\d\d(\.\d+)?, tests \S*GTUBE", d.log_tail(200)), d.log_tail(50)


def test_spamd_down_fails_open_by_default_and_defers_when_asked(start_daemon):
    port = free_port()  # nothing listens there
    d = start_daemon({"plugins": plugins(f"spamassassin reject 10 spamd_socket 127.0.0.1:{port}")})
    expect(send(d, make_message(GTUBE + b"\n")), 250)
    assert b"X-Spam-" not in d.wait_messages(1)[0]
    d2 = start_daemon({"plugins": plugins(f"spamassassin reject 10 defer_on_error yes spamd_socket 127.0.0.1:{port}")})
    expect(send(d2, make_message(b"hello\n")), 451, "4.7.1", contains="Unable to scan for spam")
    assert d2.messages() == []


def test_silent_spamd_times_out_below_the_hook(start_daemon):
    peer = FakePeer(None)  # accepts, never answers: the plugin must give up by its own deadline
    try:
        d = start_daemon({"plugins": plugins(f"spamassassin reject 10 defer_on_error yes timeout 3 spamd_socket {peer.address}")})
        t0 = time.monotonic()
        expect(send(d, make_message(b"hello\n")), 451, "4.7.1", contains="Unable to scan for spam")
        took = time.monotonic() - t0
        assert 2.0 <= took < 4.0, took
        assert peer.connections == 1
        d2 = start_daemon({"plugins": plugins(f"spamassassin reject 10 timeout 2 spamd_socket {peer.address}")})
        expect(send(d2, make_message(b"hello\n")), 250)
        assert b"X-Spam-" not in d2.wait_messages(1)[0]
    finally:
        peer.close()


def test_messages_per_second_through_spamd(start_daemon, spamd):
    d = start_daemon({"plugins": plugins(f"spamassassin reject 10 spamd_socket {spamd.tcp}")})
    n = 20
    c = d.client()
    c.ehlo()
    rate = c.send_all(SENDER, [RCPT], [dot_stuff(make_message(b"message %d\n" % i + b"text line\n" * 200)) for i in range(n)])
    d.wait_messages(n, timeout=30)
    MEASUREMENTS.append(f"spamassassin: {rate:.1f} messages/s through spamd (one connection, 1 spamd child, ~2 KB messages)")


def test_garbage_from_spamd_fails_open_or_closed(start_daemon):
    peer = FakePeer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    try:
        d = start_daemon({"plugins": plugins(f"spamassassin reject 10 spamd_socket {peer.address}")})
        expect(send(d, make_message(GTUBE + b"\n")), 250)
        d2 = start_daemon({"plugins": plugins(f"spamassassin reject 10 defer_on_error yes spamd_socket {peer.address}")})
        expect(send(d2, make_message(b"hello\n")), 451, "4.7.1", contains="Unable to scan for spam")
        assert peer.connections == 2
    finally:
        peer.close()


def test_a_large_message_is_streamed_to_spamd(start_daemon, spamd):
    """With size_limit raised, a 50 MB message goes to spamd from the spool in chunks: spamd reads
    exactly the announced Content-length (else it would wait or refuse), and the daemon's peak
    memory grows by far less than the message."""
    d = start_daemon({"plugins": plugins(f"spamassassin reject 10 size_limit 60000000 timeout 110 spamd_socket {spamd.tcp}")})
    # GTUBE first: SpamAssassin scans only the start of a large body (body_part_scan_size).
    wire = dot_stuff(make_message(GTUBE + b"\n" + (b"z" * 998 + b"\n") * 50_000))
    before = d.vmhwm_kb()
    c = d.client()
    c.ehlo()
    t0 = time.monotonic()
    reply = c.send_message(SENDER, [RCPT], wire)
    took = time.monotonic() - t0
    expect(reply, 554, contains="spam score exceeded threshold")
    growth_mb = (d.vmhwm_kb() - before) / 1024
    MEASUREMENTS.append(f"spamassassin: {len(wire) / 1e6:.0f} MB message through spamd in {took:.1f} s; "
                        f"daemon peak memory grew {growth_mb:.1f} MB")
    assert growth_mb < 25, growth_mb
