"""The milter plugin against Sendmail's own libmilter and OpenDKIM.

tests/fixtures/recording_milter.py (python3-milter, i.e. libmilter) records every callback it
gets, with arguments and macros, and answers or changes the message as each test's control file
says; the tests compare what it saw and what was delivered. OpenDKIM signs a message from a
relay client and dkimpy verifies the signature with the key opendkim-genkey wrote. The failure
tests use a port nobody listens on, a milter slower than the timeout, and a peer that answers
garbage: the daemon answers per default_action and keeps serving.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from scanner_fakes import FakePeer
from smtp_helpers import dot_stuff, expect, free_port, make_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Debian's python3-milter and python3-dkim live in Debian's own interpreter, which need not be
# the one running pytest.
DEBIAN_PYTHON = "/usr/bin/python3"
SENDER = "alice@client.example"
USER1, USER2 = "user1@test.example", "user2@test.example"


def wait_listening(where: str, proc: subprocess.Popen, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if where.startswith("unix:"):
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(where[5:])
            else:
                port, host = where[5:].split("@")
                socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not listen on {where} within {timeout}s")


class RecordingMilter:
    def __init__(self, base: Path, where: str, proc: subprocess.Popen):
        self.base, self.where, self.proc = base, where, proc

    def control(self, **settings) -> None:
        (self.base / "control.json").write_text(json.dumps(settings))

    def events(self) -> list[list]:
        path = self.base / "events.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def wait_for(self, name: str, timeout: float = 10.0) -> list[list]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if any(e[0] == name for e in events):
                return events
            time.sleep(0.05)
        raise AssertionError(f"the milter never saw {name}: {self.events()}")

    def names(self) -> list[str]:
        return [e[0] for e in self.events() if e[0] not in ("ready", "negotiated")]


def start_recording_milter(base: Path, where: str, *options: str) -> RecordingMilter:
    base.mkdir(parents=True, exist_ok=True)
    if not Path(DEBIAN_PYTHON).exists():
        pytest.fail("no /usr/bin/python3 (apt-get install python3-milter, see .ci/run)")
    proc = subprocess.Popen([DEBIAN_PYTHON, str(FIXTURES / "recording_milter.py"), where, str(base), *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(where, proc, "recording_milter.py (needs python3-milter)")
    return RecordingMilter(base, where, proc)


@pytest.fixture
def milter(tmp_path):
    m = start_recording_milter(tmp_path / "milter", f"inet:{free_port()}@127.0.0.1")
    yield m
    m.proc.terminate()
    m.proc.wait(timeout=10)


def plugins(milter_lines: str) -> dict[str, str]:
    return {"plugins": f"{milter_lines}\nrcpt_ok\nqueue/maildir {{maildir}}", "loglevel": "7"}


def send(d, rcpts, message: bytes, sender: str = SENDER, mail_params: str = ""):
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{sender}>{mail_params}"), 250)
    for r in rcpts:
        expect(c.cmd(f"RCPT TO:<{r}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.send(dot_stuff(message) + b".\r\n")
    return c, c.reply(timeout=60)


def split_stored(stored: bytes) -> tuple[list[str], str]:
    head, _, body = stored.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head.decode().split("\n"), body.decode()


@pytest.mark.parametrize("via", ["inet", "unix"])
def test_every_callback_with_its_arguments_and_macros(start_daemon, tmp_path, via):
    where = f"inet:{free_port()}@127.0.0.1" if via == "inet" else f"unix:{tmp_path}/m/milter.sock"
    m = start_recording_milter(tmp_path / "m", where)
    try:
        socket_word = where if via == "inet" else where[5:]  # a bare path is a UNIX socket too
        d = start_daemon(plugins(f"milter rec {socket_word}"))
        message = make_message(b"line one\n.dotted line\n", subject="callbacks")
        c = d.client()
        c.ehlo("client.example")
        expect(c.cmd(f"MAIL FROM:<{SENDER}> BODY=8BITMIME"), 250)
        expect(c.cmd(f"RCPT TO:<{USER1}>"), 250)
        expect(c.cmd("XFOO some argument"), 500)
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(message) + b".\r\n")
        expect(c.reply(timeout=30), 250)
        c.cmd("QUIT")
        events = m.wait_for("close")
    finally:
        m.proc.terminate()
        m.proc.wait(timeout=10)

    negotiated = [e for e in events if e[0] == "negotiated"]
    # libmilter took every action offered (SETSYMLIST included) and chose SKIP and no reply per header.
    assert negotiated == [["negotiated", 0x1FF, 0x80 | 0x400]], negotiated
    events = [e for e in events if e[0] not in ("ready", "negotiated")]
    names = [e[0] for e in events]
    assert names == ["connect", "helo", "mail", "rcpt", "unknown", "data", "header", "header", "header", "header",
                     "header", "eoh", "body", "eom", "close"], events
    connect = events[0]
    assert connect[1] == "[127.0.0.1]" or connect[1] == "localhost", connect
    assert connect[3][0] == "127.0.0.1" and isinstance(connect[3][1], int), connect
    assert connect[4]["j"] == "localhost" and connect[4]["{client_addr}"] == "127.0.0.1", connect
    assert connect[4]["{daemon_name}"] == "qpsmtpd", connect
    assert events[1] == ["helo", "client.example"]
    mail = events[2]
    assert mail[1] == f"<{SENDER}>" and mail[2] == ["BODY=8BITMIME"], mail
    assert mail[3]["{mail_addr}"] == SENDER and mail[3]["i"], mail
    rcpt = events[3]
    assert rcpt[1] == f"<{USER1}>" and rcpt[3]["{rcpt_addr}"] == USER1, rcpt
    # The milter asked for {rcpt_addr} alone at RCPT: Postfix's default {rcpt_mailer} is not sent.
    assert "{rcpt_mailer}" not in rcpt[3], rcpt
    assert events[4] == ["unknown", "XFOO some argument"]
    headers = [(e[1], e[2]) for e in events if e[0] == "header"]
    assert headers[0][0] == "Received" and "client.example" in headers[0][1], headers
    assert headers[1] == ("Subject", "callbacks"), headers
    body = [e for e in events if e[0] == "body"][0]
    assert body[2] == "line one\r\n.dotted line\r\n" and body[1] == len(body[2]), body
    assert events[-2][0] == "eom" and events[-2][1]["i"] == mail[3]["i"], events[-2]
    delivered = d.wait_messages(1)
    assert b".dotted line" in delivered[0]


def test_every_modification_reaches_the_delivered_message(start_daemon, milter):
    milter.control(actions=[
        ["addheader", "X-Milter-Added", "added value"],
        ["insheader", 0, "X-Milter-Top", "inserted first"],
        ["chgheader", "Subject", 1, "changed subject"],
        ["chgheader", "X-Remove-Me", 1, ""],
        ["replacebody", "new body line 1\nnew body line 2\r\n"],
        ["chgfrom", "<changed@client.example>", None],
        ["addrcpt", f"<{USER2}>", None],
        ["delrcpt", f"<{USER1}>"],
        ["quarantine", "looks odd"],
    ])
    d = start_daemon(plugins(f"milter rec {milter.where}"))
    message = make_message(b"original body\n", subject="before", extra_headers=["X-Remove-Me: yes"])
    c, reply = send(d, [USER1], message)
    expect(reply, 250)
    header, body = split_stored(d.wait_messages(1)[0])
    assert header[0] == "Return-Path: <changed@client.example>", header
    assert header[1] == f"Delivered-To: {USER2}" and not any(h.startswith("Delivered-To: " + USER1) for h in header), header
    assert header[2] == "X-Milter-Top: inserted first", header
    assert "Subject: changed subject" in header and "Subject: before" not in header, header
    assert "X-Milter-Added: added value" in header and not any(h.startswith("X-Remove-Me") for h in header), header
    assert body == "new body line 1\nnew body line 2\n", body
    assert "quarantine requested: looks odd" in d.log_tail(200)


def test_recipient_refusals_and_multiline_replies(start_daemon, milter):
    bad, soft = "bad@test.example", "soft@test.example"
    milter.control(answers={f"rcpt:<{bad}>": "reject", f"rcpt:<{soft}>": "tempfail", "eom": "reject"},
                   replies={f"rcpt:<{bad}>": [550, "5.7.1", "first line", "second line"],
                            "eom": [554, "5.7.0", "content refused"]})
    d = start_daemon(plugins(f"milter rec {milter.where}"))
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    refused = expect(c.cmd(f"RCPT TO:<{bad}>"), 550)
    assert refused.lines == ["5.7.1 first line", "5.7.1 second line"], refused
    expect(c.cmd(f"RCPT TO:<{soft}>"), 451, "4.7.1", "try again later")
    expect(c.cmd(f"RCPT TO:<{USER1}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.send(dot_stuff(make_message(b"x\n")) + b".\r\n")
    expect(c.reply(timeout=30), 554, "5.7.0", "content refused")
    assert d.messages() == []
    # The session goes on: the next message is accepted once the milter says so.
    milter.control()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    expect(c.cmd(f"RCPT TO:<{USER1}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.send(dot_stuff(make_message(b"y\n")) + b".\r\n")
    expect(c.reply(timeout=30), 250)
    d.wait_messages(1)


def test_discard_accept_and_skip(start_daemon, milter):
    d = start_daemon(plugins(f"milter rec {milter.where}"))
    milter.control(answers={"eom": "discard"})
    _, reply = send(d, [USER1], make_message(b"dropped\n"))
    expect(reply, 250)
    time.sleep(0.5)
    assert d.messages() == []
    # SKIP after the first body chunk: no more chunks, end of message still comes.
    milter.control(answers={"body": "skip"})
    events_before = len(milter.events())
    _, reply = send(d, [USER1], make_message((b"0123456789abcdef" * 6 + b"\n") * 2_000))  # ~190 KB: several chunks
    expect(reply, 250)
    later = milter.events()[events_before:]
    assert [e[0] for e in later if e[0] in ("body", "eom")] == ["body", "eom"], later
    assert later[[e[0] for e in later].index("body")][1] == 65535
    # ACCEPT at MAIL: nothing more about this message.
    milter.control(answers={"mail": "accept"})
    before = len(milter.events())
    _, reply = send(d, [USER1], make_message(b"accepted early\n"))
    expect(reply, 250)
    seen = [e[0] for e in milter.events()[before:] if e[0] not in ("negotiated", "connect", "helo", "abort", "close")]
    assert seen == ["mail"], milter.events()[before:]
    assert len(d.wait_messages(2)) == 2


def test_abort_on_reset_and_connection_refusal(start_daemon, milter):
    d = start_daemon(plugins(f"milter rec {milter.where}"))
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    expect(c.cmd("RSET"), 250)
    milter.wait_for("abort")
    c.cmd("QUIT")
    milter.wait_for("close")
    milter.control(answers={"helo": "reject"})
    before = len(milter.events())
    c = d.client()
    expect(c.cmd("EHLO client.example"), 550, "5.7.1")
    # A connection-level refusal holds for the commands after it, as in Postfix, without asking again.
    expect(c.cmd("HELO client.example"), 550, "5.7.1", "Command rejected")
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 503)
    assert [e[0] for e in milter.events()[before:] if e[0] != "negotiated"] == ["connect", "helo"], milter.events()[before:]
    milter.control(answers={"connect": "tempfail"})
    c = d.client(greet=False)
    expect(c.reply(), 421)


def test_progress_keeps_a_slow_milter_alive(start_daemon, milter):
    milter.control(progress={"eom": [0.6, 4]})
    d = start_daemon(plugins(f"milter rec {milter.where} content_timeout 1"))
    _, reply = send(d, [USER1], make_message(b"slow but alive\n"))
    expect(reply, 250)
    d.wait_messages(1)


@pytest.mark.parametrize("action,code", [("tempfail", 451), ("accept", 250), ("reject", 550)])
def test_slow_milter_past_the_timeout(start_daemon, milter, action, code):
    milter.control(sleep={"eom": 4})
    d = start_daemon(plugins(f"milter rec {milter.where} content_timeout 1 default_action {action}"))
    t0 = time.monotonic()
    _, reply = send(d, [USER1], make_message(b"slow\n"))
    assert time.monotonic() - t0 < 3.5
    expect(reply, code)
    if action == "tempfail":
        expect(reply, 451, "4.7.1", "try again later")
    d.assert_alive()


@pytest.mark.parametrize("action", ["accept", "tempfail", "reject"])
def test_milter_down(start_daemon, action):
    d = start_daemon(plugins(f"milter gone inet:{free_port()}@127.0.0.1 default_action {action}"))
    c = d.client()
    c.ehlo()
    reply = c.cmd(f"MAIL FROM:<{SENDER}>")
    if action == "accept":
        expect(reply, 250)
        expect(c.cmd(f"RCPT TO:<{USER1}>"), 250)
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(b"through anyway\n")) + b".\r\n")
        expect(c.reply(timeout=30), 250)
        d.wait_messages(1)
    elif action == "tempfail":
        expect(reply, 451, "4.7.1", "try again later")
    else:
        expect(reply, 550, "5.7.1", "Command rejected")
    assert "milter gone" in d.log_tail(200) and "failed" in d.log_tail(200)


def test_garbage_answers(start_daemon):
    server = FakePeer(b"HTTP/1.0 400 Bad Request\r\n\r\n")  # length 0x48545450: out of range
    try:
        d = start_daemon(plugins(f"milter junk {server.address} default_action tempfail"))
        c = d.client()
        c.ehlo()
        expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 451, "4.7.1")
        assert "out of range" in d.log_tail(200)
        c2 = d.client()
        c2.ehlo()
        expect(c2.cmd(f"MAIL FROM:<{SENDER}>"), 451, "4.7.1")
    finally:
        server.close()


@pytest.fixture
def opendkim(tmp_path):
    base = tmp_path / "opendkim"
    base.mkdir()
    base.chmod(0o700)
    for tool in ("/usr/sbin/opendkim", "/usr/sbin/opendkim-genkey"):
        if not Path(tool).exists():
            pytest.fail(f"{tool} missing (apt-get install opendkim opendkim-tools, see .ci/run)")
    subprocess.run(["/usr/sbin/opendkim-genkey", "-D", str(base), "-d", "client.example", "-s", "test"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    (base / "opendkim.conf").write_text(f"""Syslog no
Socket inet:{port}@127.0.0.1
Domain client.example
Selector test
KeyFile {base}/test.private
Mode sv
Canonicalization relaxed/simple
InternalHosts 127.0.0.0/8
PidFile {base}/opendkim.pid
RequireSafeKeys no
""")  # RequireSafeKeys: pytest's directories are under /tmp, which other users may write
    proc = subprocess.Popen(["/usr/sbin/opendkim", "-f", "-x", str(base / "opendkim.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(f"inet:{port}@127.0.0.1", proc, "opendkim")
    yield base, port
    proc.terminate()
    proc.wait(timeout=10)


def test_opendkim_signs_after_another_milter_and_the_signature_verifies(start_daemon, opendkim, milter, tmp_path):
    base, port = opendkim
    # Two milters in order: the recording one adds a header, then OpenDKIM signs what it sees.
    milter.control(actions=[["addheader", "X-Milter-Added", "before signing"]])
    d = start_daemon(plugins(f"milter rec {milter.where}\nmilter dkim inet:{port}@127.0.0.1 default_action tempfail"))
    message = make_message(b"signed body\n.with a dot\n", subject="to be signed").replace(b"From: <s@x.example>", f"From: <{SENDER}>".encode())
    _, reply = send(d, [USER1], message)
    expect(reply, 250)
    stored = d.wait_messages(1)[0]
    header, _ = split_stored(stored)
    assert any(h.startswith("DKIM-Signature:") for h in header), header
    assert "X-Milter-Added: before signing" in header
    path = tmp_path / "stored.eml"
    path.write_bytes(stored)
    verify = subprocess.run([DEBIAN_PYTHON, str(FIXTURES / "dkim_verify.py"), str(path), str(base / "test.txt")],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # A changed body no longer verifies: the check is real.
    path.write_bytes(stored.replace(b"signed body", b"forged body"))
    forged = subprocess.run([DEBIAN_PYTHON, str(FIXTURES / "dkim_verify.py"), str(path), str(base / "test.txt")],
                            capture_output=True, text=True, timeout=60)
    assert forged.returncode == 1, forged.stdout + forged.stderr


def test_fifty_megabytes_stream_through_the_milter(start_daemon, milter):
    """A 50 MB message reaches the milter whole, in chunks of at most 65535 octets read from the
    spool, and the daemon's peak RSS grows by nothing near its size."""
    from conftest import MEASUREMENTS
    d = start_daemon(plugins(f"milter rec {milter.where}"))
    _, reply = send(d, [USER1], make_message(b"warm-up\n"))
    expect(reply, 250)
    hwm_before = d.vmhwm_kb()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n"
    chunk = line * 13_000
    n_chunks = 50 * 1024 * 1024 // len(chunk) + 1
    before = len(milter.events())
    t0 = time.monotonic()
    c = d.client(timeout=300)
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    expect(c.cmd(f"RCPT TO:<{USER1}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.sock.sendall(dot_stuff(make_message(b"", subject="50MB")))
    for _ in range(n_chunks):
        c.sock.sendall(chunk)
    c.sock.sendall(b".\r\n")
    expect(c.reply(timeout=300), 250)
    elapsed = time.monotonic() - t0
    growth_mb = (d.vmhwm_kb() - hwm_before) / 1024
    bodies = [e for e in milter.wait_for("eom")[before:] if e[0] == "body"]
    # The empty body line of make_message(b"") comes first, then the chunks.
    assert sum(e[1] for e in bodies) == len(b"\r\n") + n_chunks * len(chunk), len(bodies)
    assert max(e[1] for e in bodies) == 65535
    msg = f"milter: 50 MB message through the recording milter in {elapsed:.1f}s, VmHWM growth {growth_mb:.1f} MB"
    print(msg)
    MEASUREMENTS.append(msg)
    assert growth_mb < 24, growth_mb


def test_slow_at_a_command_and_refusals_at_mail_and_discard_at_rcpt(start_daemon, milter):
    d = start_daemon(plugins(f"milter rec {milter.where} command_timeout 1"))
    milter.control(sleep={"rcpt": 3})
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    t0 = time.monotonic()
    # No default_action on the line: tempfail, as in Postfix.
    expect(c.cmd(f"RCPT TO:<{USER1}>"), 451, "4.7.1", "try again later")
    assert time.monotonic() - t0 < 2.5
    d.assert_alive()
    # A new session gets a new conversation; MAIL refused for the message only.
    time.sleep(2.5)  # let the slow milter finish its sleep
    milter.control(answers={"mail": "tempfail"})
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 451, "4.7.1")
    milter.control(answers={"rcpt": "discard"})
    expect(c.cmd("RSET"), 250)
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    expect(c.cmd(f"RCPT TO:<{USER1}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.send(dot_stuff(make_message(b"discarded at rcpt\n")) + b".\r\n")
    expect(c.reply(timeout=30), 250)
    time.sleep(0.5)
    assert d.messages() == []


def test_garbage_after_a_good_negotiation(start_daemon):
    """A peer that negotiates properly, then answers CONNECT with a response code that does not exist."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def read_packet(conn):
        head = b""
        while len(head) < 4:
            head += conn.recv(4 - len(head))
        length = int.from_bytes(head, "big")
        data = b""
        while len(data) < length:
            data += conn.recv(length - len(data))
        return data

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    read_packet(conn)  # OPTNEG
                    answer = b"O" + (6).to_bytes(4, "big") + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
                    conn.sendall(len(answer).to_bytes(4, "big") + answer)
                    while read_packet(conn)[:1] == b"D":  # macros, then CONNECT
                        pass
                    conn.sendall((1).to_bytes(4, "big") + b"Z")
                    conn.recv(100)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        d = start_daemon(plugins(f"milter junk inet:{port}@127.0.0.1 default_action reject"))
        c = d.client()
        c.ehlo()
        expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 550, "5.7.1", "Command rejected")
        assert "unknown response 'Z'" in d.log_tail(200)
        d.assert_alive()
    finally:
        server.close()


def test_header_values_with_their_leading_space(start_daemon, tmp_path):
    """SMFIP_HDR_LEADSPC: header values go out exactly as written after the colon (folds as LF),
    and a milter's new value is stored exactly as it sent it."""
    m = start_recording_milter(tmp_path / "m", f"inet:{free_port()}@127.0.0.1", "leading-space")
    try:
        m.control(actions=[["addheader", "X-Spaced", "  two spaces"], ["addheader", "X-Tight", "none"]])
        d = start_daemon(plugins(f"milter rec {m.where}"))
        message = make_message(b"body\n", subject="spaced", extra_headers=["X-Folded: first\n  second"])
        _, reply = send(d, [USER1], message)
        expect(reply, 250)
        events = m.wait_for("eom")
        negotiated = [e for e in events if e[0] == "negotiated"][0]
        assert negotiated[2] & 0x100000, negotiated  # SMFIP_HDR_LEADSPC
        headers = [(e[1], e[2]) for e in events if e[0] == "header"]
        assert ("Subject", " spaced") in headers and ("X-Folded", " first\n  second") in headers, headers
        header, _ = split_stored(d.wait_messages(1)[0])
        assert "X-Spaced:  two spaces" in header and "X-Tight:none" in header, header
        assert "X-Folded: first" in header and "  second" in header, header
    finally:
        m.proc.terminate()
        m.proc.wait(timeout=10)
