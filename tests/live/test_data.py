"""DATA: dot-stuffing, exact bytes, big messages and their memory cost, and
the databytes limit."""

from __future__ import annotations

import hashlib
import smtplib
import time

from conftest import MEASUREMENTS
from smtp_helpers import check_delivered, crlf, dot_stuff, expect, make_message, split_message


def test_dot_stuffing_round_trip(daemon):
    body = (b".\n"
            b"..\n"
            b"...\n"
            b".leading dot\n"
            b"..two leading dots\n"
            b" . space then dot\n"
            b"a line with a . inside\n"
            b".\t.tab\n"
            b"last line\n")
    sent = make_message(body, subject="dots")
    wire = dot_stuff(sent)
    assert b"\r\n...\r\n" in wire and b"\r\n..\r\n" in wire  # the helper really stuffed
    with daemon.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], wire), 250, "2.0.0")
    [stored] = daemon.wait_messages(1)
    check_delivered(stored, sent)


def test_dot_stuffing_via_smtplib(daemon):
    body = b".\n..\n.x\n..y\nend\n"
    sent = make_message(body, subject="smtplib dots")
    with smtplib.SMTP(daemon.host, daemon.port, timeout=20) as s:
        assert s.sendmail("s@x.example", ["u@test.example"], crlf(sent)) == {}
    [stored] = daemon.wait_messages(1)
    assert split_message(stored)[1] == body


def test_exact_body_with_8bit_bytes(daemon):
    every_byte = bytes(b for b in range(256) if b not in (0, 10, 13))
    body = (b"plain ascii\n"
            + "Gr\u00fc\u00dfe, \u65e5\u672c\u8a9e, \U0001F4E7\n".encode("utf-8")
            + b"latin-1: caf\xe9 \xff\xfe\n"
            + every_byte + b"\n"
            + b"trailing spaces   \n"
            + b"\ttab first\n"
            + b"\n\n"
            + b"after two empty lines\n")
    sent = make_message(body, subject="8bit", extra_headers=["Content-Type: text/plain; charset=utf-8",
                                                             "Content-Transfer-Encoding: 8bit"])
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example> BODY=8BITMIME"), 250, "2.1.0")
        expect(c.cmd("RCPT TO:<u@test.example>"), 250, "2.1.5")
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(sent) + b".\r\n")
        expect(c.reply(), 250, "2.0.0", "Queued!")
    [stored] = daemon.wait_messages(1)
    check_delivered(stored, sent)


def _big_body(size: int, seed: int = 1) -> bytes:
    """Deterministic printable lines of varied length, some starting with '.'."""
    lines = []
    total = 0
    i = 0
    while total < size:
        n = 1 + (i * 7919 + seed) % 200
        line = (b"." if i % 97 == 0 else b"") + bytes(33 + (i + j) % 94 for j in range(n))
        lines.append(line)
        total += len(line) + 1
        i += 1
    return b"\n".join(lines) + b"\n"


def _spool_files(d) -> list:
    return [p for p in d.spool_dir.rglob("*") if p.is_file()] if d.spool_dir.exists() else []


def test_one_megabyte_message(daemon):
    sent = make_message(_big_body(1 << 20), subject="1MB")
    with daemon.client(timeout=60) as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(sent)), 250, "2.0.0")
        expect(c.cmd("QUIT"), 221)
    [stored] = daemon.wait_messages(1)
    check_delivered(stored, sent)
    deadline = time.monotonic() + 3
    while _spool_files(daemon) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _spool_files(daemon), f"spool files left after delivery: {_spool_files(daemon)}"


def test_fifty_megabyte_message_memory(daemon):
    """50 MB through DATA must stream to the spool: the daemon's peak RSS may
    not grow by anything near the message size."""
    size = 50 * 1024 * 1024
    # Warm up: one small message so lazily-initialised state is already paid for.
    with daemon.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"warm-up\n"))), 250)
    daemon.wait_messages(1)
    hwm_before = daemon.vmhwm_kb()

    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n"  # 76 bytes
    head_lf = make_message(b"", subject="50MB")
    head = dot_stuff(head_lf)
    per_chunk = 13_000
    chunk = line * per_chunk
    sha = hashlib.sha256()
    sha.update(head_lf.partition(b"\n\n")[2])  # the body starts after the blank line
    n_chunks = size // len(chunk) + 1
    t0 = time.monotonic()
    with daemon.client(timeout=300) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<u@test.example>"), 250)
        expect(c.cmd("DATA"), 354)
        c.sock.sendall(head)
        lf_chunk = chunk.replace(b"\r\n", b"\n")
        for _ in range(n_chunks):
            c.sock.sendall(chunk)
            sha.update(lf_chunk)
        c.sock.sendall(b".\r\n")
        expect(c.reply(timeout=300), 250, "2.0.0", "Queued!")
        expect(c.cmd("QUIT"), 221)
    elapsed = time.monotonic() - t0
    hwm_after = daemon.vmhwm_kb()
    growth_mb = (hwm_after - hwm_before) / 1024
    msg = (f"50 MB message: VmHWM {hwm_before / 1024:.1f} MB -> {hwm_after / 1024:.1f} MB "
           f"(growth {growth_mb:.1f} MB), transfer+queue {elapsed:.1f}s")
    print(msg)
    MEASUREMENTS.append(msg)

    [first, big] = daemon.wait_messages(2, timeout=30)
    if len(big) < len(first):
        first, big = big, first
    headers, body = split_message(big)
    assert any(h.startswith(b"Subject: 50MB") for h in headers), headers[:8]
    sent_body_len = len(head_lf.partition(b"\n\n")[2]) + n_chunks * len(lf_chunk)
    assert len(body) == sent_body_len, f"stored body is {len(body)} bytes, sent {sent_body_len}"
    assert hashlib.sha256(body).hexdigest() == sha.hexdigest(), "stored 50 MB body differs from what was sent"
    assert growth_mb < 40, msg


def test_databytes_refuses_size_parameter_at_mail(start_daemon):
    d = start_daemon(config={"databytes": "1000"})
    with d.client() as c:
        ehlo = c.ehlo()
        assert "SIZE 1000" in [line.upper() for line in ehlo.lines], ehlo
        expect(c.cmd("MAIL FROM:<s@x.example> SIZE=2000"), 552, "5.3.4")
        expect(c.cmd("MAIL FROM:<s@x.example> SIZE=500"), 250, "2.1.0")
        expect(c.cmd("RCPT TO:<u@test.example>"), 250)
        expect(c.cmd("QUIT"), 221)


def test_databytes_refuses_oversized_body_after_reading_it(start_daemon):
    d = start_daemon(config={"databytes": "1000"})
    with d.client() as c:
        c.ehlo()
        big = make_message(b"x" * 70 + b"\n" * 1 + (b"y" * 70 + b"\n") * 80, subject="too big")
        r = c.send_message("s@x.example", ["u@test.example"], dot_stuff(big))
        expect(r, 552, "5.3.4")
        # The daemon read to the end of DATA: the session is in step and usable.
        expect(c.cmd("NOOP"), 250)
        small = make_message(b"small enough\n")
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(small)), 250, "2.0.0")
        expect(c.cmd("QUIT"), 221)
    [stored] = d.wait_messages(1)
    assert split_message(stored)[1] == b"small enough\n"
