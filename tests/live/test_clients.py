"""Real SMTP clients against a real daemon: smtplib, a raw pipelining client,
swaks, curl, and tcpserver running `qpsmtpd inetd`."""

from __future__ import annotations

import shutil
import signal
import smtplib
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, require_tool, write_config
from smtp_helpers import (SMTPClient, check_delivered, crlf, dot_stuff, env_with, expect, expect_enhanced_class,
                          free_port, make_message, split_message, wait_for_messages)


def test_greeting_and_ehlo_capabilities(start_daemon):
    d = start_daemon(config={"databytes": "1000000"})
    with d.client(greet=False) as c:
        g = c.greeting()
        assert "localhost" in g.first and "ESMTP" in g.text, f"greeting should name `me` and ESMTP: {g}"
        r = c.ehlo()
        caps = [line.upper() for line in r.lines[1:]]
        for cap in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 1000000"):
            assert cap in caps, f"EHLO does not advertise {cap}: {r}"
        expect(c.cmd("QUIT"), 221)


def test_no_size_capability_without_databytes(daemon):
    with daemon.client() as c:
        caps = [line.split()[0].upper() for line in c.ehlo().lines[1:] if line.strip()]
        assert "SIZE" not in caps, f"SIZE advertised although databytes is unset: {caps}"


def test_smtplib_send(daemon):
    sent = make_message(b"Hello from smtplib.\nSecond line.\n", subject="smtplib")
    with smtplib.SMTP(daemon.host, daemon.port, timeout=20) as s:
        code, _ = s.ehlo("smtplib.example")
        assert code == 250
        assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("enhancedstatuscodes")
        code, msg = s.mail("s@x.example")
        assert code == 250, msg
        assert msg[:6] == b"2.1.0 ", f"MAIL reply lacks 2.1.0: {msg!r}"
        code, msg = s.rcpt("u@test.example")
        assert code == 250, msg
        assert msg[:6] == b"2.1.5 ", f"RCPT reply lacks 2.1.5: {msg!r}"
        code, msg = s.data(crlf(sent))
        assert code == 250 and msg.startswith(b"2.0.0 Queued!"), f"DATA final reply: {code} {msg!r}"
    [stored] = daemon.wait_messages(1)
    check_delivered(stored, sent)
    leftovers = list((daemon.maildir / "tmp").glob("*")) if (daemon.maildir / "tmp").is_dir() else []
    assert not leftovers, f"files left in Maildir/tmp: {leftovers}"


def test_smtplib_sendmail_two_messages_one_connection(daemon):
    with smtplib.SMTP(daemon.host, daemon.port, timeout=20) as s:
        for i in range(2):
            refused = s.sendmail("s@x.example", ["a@test.example", "b@localhost"],
                                 crlf(make_message(f"message {i}\n".encode(), subject=f"m{i}")))
            assert refused == {}
    msgs = daemon.wait_messages(2)
    assert sorted(split_message(m)[1] for m in msgs) == [b"message 0\n", b"message 1\n"]


def test_raw_pipelining_replies_in_order(daemon):
    with daemon.client() as c:
        ehlo = c.ehlo()
        assert any(line.upper() == "PIPELINING" for line in ehlo.lines), ehlo
        c.send(b"MAIL FROM:<s@x.example>\r\n"
               b"RCPT TO:<a@test.example>\r\n"
               b"RCPT TO:<b@elsewhere.example>\r\n"
               b"RCPT TO:<c@localhost>\r\n"
               b"DATA\r\n")
        r = c.replies(5)
        expect(r[0], 250, "2.1.0")
        expect(r[1], 250, "2.1.5")
        expect(r[2], 550, "5.7.1")
        expect(r[3], 250, "2.1.5")
        expect(r[4], 354)
        sent = make_message(b"pipelined body\n", subject="pipelined")
        c.send(dot_stuff(sent) + b".\r\nQUIT\r\n")
        expect(c.reply(), 250, "2.0.0", "Queued!")
        expect(c.reply(), 221)
        c.wait_closed()
    [stored] = daemon.wait_messages(1)
    check_delivered(stored, sent)


@pytest.mark.parametrize("extra", [[], ["--pipeline"]], ids=["plain", "pipeline"])
def test_swaks(daemon, tmp_path, extra):
    swaks = require_tool("swaks")
    body = "Sent by swaks.\nLine two."
    p = subprocess.run([swaks, "--server", f"{daemon.host}:{daemon.port}", "--to", "u@test.example",
                        "--from", "s@x.example", "--helo", "swaks.example", "--header", "Subject: swaks test",
                        "--body", body, "--timeout", "20", *extra],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"swaks exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    assert "250 2.0.0 Queued!" in p.stdout, f"no queued reply in swaks transcript:\n{p.stdout}"
    [stored] = daemon.wait_messages(1)
    headers, stored_body = split_message(stored)
    assert stored_body.rstrip(b"\n") == body.encode(), f"body: {stored_body!r}"
    assert any(h.startswith(b"Subject: swaks test") for h in headers)
    assert any(h.startswith(b"Received: from ") and b"swaks.example" in h for h in headers), headers


def test_curl(daemon, tmp_path):
    curl = require_tool("curl")
    sent = make_message(b"Sent by curl.\n.leading dot line\n", subject="curl")
    f = tmp_path / "mail.eml"
    f.write_bytes(sent.replace(b"\n", b"\r\n"))  # curl sends the file's bytes as they are
    p = subprocess.run([curl, "-sS", "--max-time", "30", f"smtp://{daemon.host}:{daemon.port}/curl.example",
                        "--mail-from", "s@x.example", "--mail-rcpt", "u@test.example", "--upload-file", str(f)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"curl exited {p.returncode}: {p.stderr}"
    [stored] = daemon.wait_messages(1)
    check_delivered(stored, sent)


def _inetd_config(tmp_path: Path) -> tuple[Path, Path]:
    maildir = tmp_path / "Maildir"
    cfg = write_config(tmp_path / "config", {
        "me": "localhost",
        "rcpthosts": "test.example",
        "plugins": f"rcpt_ok\nqueue/maildir {maildir}",
        "spool_dir": str(tmp_path / "spool"),
        "loglevel": "6",
    })
    return cfg, maildir


def test_tcpserver_inetd(qpsmtpd_bin, tmp_path):
    tcpserver = require_tool("tcpserver")
    cfg, maildir = _inetd_config(tmp_path)
    errlog = open(tmp_path / "tcpserver.log", "wb")
    proc = None
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([tcpserver, "-v", "-R", "-H", "127.0.0.1", str(port),
                                 qpsmtpd_bin, "inetd", "--config", str(cfg)],
                                cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog)
        deadline = time.monotonic() + 5
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                SMTPClient("127.0.0.1", port, timeout=1).close()  # tcpserver accepts; the child sees EOF
                up = True
                break
            except OSError:
                time.sleep(0.1)
        if up:
            break
        proc.kill()
        proc.wait()
    assert proc is not None and proc.poll() is None, \
        f"tcpserver did not start: {(tmp_path / 'tcpserver.log').read_text(errors='replace')}"
    try:
        sent = make_message(b"via tcpserver\n", subject="tcpserver")
        # Connect from 127.0.0.2 so the address in Received can only come from the real peer.
        with SMTPClient("127.0.0.1", port, timeout=20, source=("127.0.0.2", 0)) as c:
            c.greeting()
            c.ehlo("inetd.example")
            r = c.send_message("s@x.example", ["u@test.example"], dot_stuff(sent))
            expect(r, 250, "2.0.0", "Queued!")
            expect(c.cmd("QUIT"), 221)
        [stored] = wait_for_messages(maildir, 1)
        headers = check_delivered(stored, sent)
        received = next(h for h in headers if h.startswith(b"Received:"))
        assert b"127.0.0.2" in received, f"TCPREMOTEIP not in Received: {received!r}"
        assert b"inetd.example" in received, received
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_inetd_stdio_interactive(qpsmtpd_bin, tmp_path):
    """inetd mode driven like a socket: stdin stays open until QUIT is answered."""
    cfg, maildir = _inetd_config(tmp_path)
    env = env_with(TCPREMOTEIP="192.0.2.8", TCPREMOTEPORT="40001", TCPLOCALIP="127.0.0.1", TCPLOCALPORT="2525")
    p = subprocess.Popen([qpsmtpd_bin, "inetd", "--config", str(cfg)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    sent = make_message(b"interactive inetd\n")
    try:
        def reply_code() -> str:
            while True:
                line = p.stdout.readline()
                assert line, "inetd closed stdout early"
                if line[3:4] == b" ":
                    return line[:3].decode()
        steps = [(None, "220"), (b"EHLO stdio.example", "250"), (b"MAIL FROM:<s@x.example>", "250"),
                 (b"RCPT TO:<u@test.example>", "250"), (b"DATA", "354"),
                 (dot_stuff(sent) + b".", "250"), (b"QUIT", "221")]
        for line, code in steps:
            if line is not None:
                p.stdin.write(line + b"\r\n")
                p.stdin.flush()
            got = reply_code()
            assert got == code, f"after {line!r}: expected {code}, got {got}"
        p.stdin.close()
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    [stored] = wait_for_messages(maildir, 1)
    received = next(h for h in check_delivered(stored, sent) if h.startswith(b"Received:"))
    assert b"192.0.2.8" in received, received


def test_inetd_stdio_uses_tcp_environment(qpsmtpd_bin, tmp_path):
    """The whole session written at once, then EOF on stdin: every reply must still come out."""
    cfg, maildir = _inetd_config(tmp_path)
    sent = make_message(b"via stdin\n", subject="stdio")
    script = (b"EHLO stdio.example\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<u@test.example>\r\nDATA\r\n"
              + dot_stuff(sent) + b".\r\nQUIT\r\n")
    env = env_with(TCPREMOTEIP="192.0.2.7", TCPREMOTEPORT="40000", TCPLOCALIP="127.0.0.1", TCPLOCALPORT="2525")
    p = subprocess.run([qpsmtpd_bin, "inetd", "--config", str(cfg)], input=script, capture_output=True,
                       env=env, cwd=tmp_path, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    codes = [line[:3] for line in out.split("\r\n") if line[3:4] == " "]
    assert codes == ["220", "250", "250", "250", "354", "250", "221"], \
        f"inetd replies: {out!r}\nstderr: {p.stderr.decode(errors='replace')[-2000:]}"
    assert p.returncode == 0, f"inetd exited {p.returncode}"
    [stored] = wait_for_messages(maildir, 1)
    headers = check_delivered(stored, sent)
    received = next(h for h in headers if h.startswith(b"Received:"))
    assert b"192.0.2.7" in received, f"TCPREMOTEIP not in Received: {received!r}"


def test_two_listeners(start_daemon):
    d = start_daemon(listen=["127.0.0.1:0", "127.0.0.1:0"])
    assert len(d.addresses) == 2 and d.addresses[0] != d.addresses[1], d.addresses
    for host, port in d.addresses:
        with SMTPClient(host, port) as c:
            c.greeting()
            expect(c.cmd("NOOP"), 250)


def test_config_sample_delivers_to_relative_maildir(qpsmtpd_bin, tmp_path):
    """The README's first command, with port 0: config.sample delivers to ./Maildir."""
    work = tmp_path / "sample"
    shutil.copytree(REPO / "config.sample", work / "config.sample")
    proc = subprocess.Popen([qpsmtpd_bin, "serve", "--config", "config.sample", "--listen", "127.0.0.1:0"],
                            cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = b""
        deadline = time.monotonic() + 20
        while b"listening on" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "qpsmtpd with config.sample exited before listening"
        assert b"listening on" in line, "config.sample daemon never printed 'listening on'"
        port = int(line.split(b"listening on", 1)[1].split()[0].rsplit(b":", 1)[1])
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining the log
        sent = make_message(b"sample config works\n")
        with SMTPClient("127.0.0.1", port) as c:
            c.greeting()
            c.ehlo()
            expect(c.send_message("s@x.example", ["someone@example.test"], dot_stuff(sent)), 250, "2.0.0")
            expect(c.cmd("QUIT"), 221)
        [stored] = wait_for_messages(work / "Maildir", 1)
        check_delivered(stored, sent)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert rc == 0


def test_replies_carry_enhanced_codes(daemon):
    with daemon.client() as c:
        c.ehlo()
        for line, code in [("NOOP", 250), ("RSET", 250), ("VRFY postmaster", 252), ("MAIL FROM:<s@x.example>", 250),
                           ("RCPT TO:<u@test.example>", 250), ("RCPT TO:<u@elsewhere.example>", 550),
                           ("BOGUS", 500), ("QUIT", 221)]:
            r = c.cmd(line)
            expect(r, code)
            expect_enhanced_class(r)
