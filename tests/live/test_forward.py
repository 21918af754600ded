"""queue/smtp-forward into a real Postfix (and, for the two hostile cases, tiny Python fakes).

A private Postfix (postfix_helpers.PostfixInstance with smtpd_listen) listens on a 127.0.0.1
port, refuses refused@test.example (check_recipient_access) and puts every message it accepts
on hold, so `postcat -q <queue id>` shows exactly what it stored: the envelope (sender,
recipients) and the message. Our daemon forwards to it; the 250 we answer carries Postfix's
queue id ("queued as <id>"), which is how the test finds the queue file.
"""
from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from postfix_helpers import PostfixInstance, require_postfix, stop_all
from smtp_helpers import dot_stuff, expect, free_port, make_message
from tls_helpers import make_pki

SENDER = "alice@client.example"
OK1, OK2, REFUSED = "one@test.example", "two@test.example", "refused@test.example"


def run_postfix(tmp_path, extra: dict[str, str] | None = None):
    """A started Postfix with an smtpd on 127.0.0.1:<port>; fails (never skips) without Postfix or root."""
    require_postfix()
    port = free_port()
    params = {
        "myhostname": "postfix.test.example",
        "smtpd_recipient_restrictions": "check_recipient_access texthash:${config_directory}/refused, permit_mynetworks, reject",
        # Keep what it accepts where postcat can read it.
        "smtpd_end_of_data_restrictions": "check_client_access static:HOLD",
        # Our test messages carry their own headers; Postfix adds none.
        "local_header_rewrite_clients": "",
        "message_size_limit": "20000",
        "smtpd_authorized_xclient_hosts": "127.0.0.1",
    }
    params.update(extra or {})
    pf = PostfixInstance(params, files={"refused": f"{REFUSED} REJECT User unknown here\n"},
                         keep_log_in=tmp_path / "postfix", smtpd_listen=f"127.0.0.1:{port}")
    pf.port = port
    try:
        pf.start()
        yield pf
    finally:
        stop_all(pf)


@pytest.fixture
def postfix(tmp_path):
    yield from run_postfix(tmp_path)


@pytest.fixture
def pki():
    # Postfix's smtpd reads its key as root before dropping privileges; the directory only has
    # to outlive the test.
    top = Path(tempfile.mkdtemp(prefix="qpsmtpd-forward-pki-"))
    try:
        yield make_pki(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def postfix_tls(tmp_path, pki):
    """The same Postfix, offering STARTTLS with a certificate for mx.test.example and 127.0.0.1."""
    yield from run_postfix(tmp_path, {
        "smtpd_tls_security_level": "may",
        "smtpd_tls_cert_file": str(pki["cert"]),
        "smtpd_tls_key_file": str(pki["key"]),
        "smtpd_tls_received_header": "yes",
    })


def forward_config(port: int, extra: str = "", plugin_timeout: int | None = None) -> dict[str, str]:
    config = {
        "plugins": f"rcpt_ok\nqueue/smtp-forward 127.0.0.1 {port}{extra}",
        "loglevel": "7",
    }
    if plugin_timeout is not None:
        config["plugin_timeout"] = str(plugin_timeout)
    return config


def stored(pf: PostfixInstance, reply) -> tuple[str, list[str], str]:
    """(sender, recipients, message) of the queue file named in our 250."""
    m = re.search(r"queued as (\S+)$", reply.text)
    assert m, f"no queue id in {reply}"
    text = pf.postcat(m.group(1))
    sender = re.search(r"^sender: (.*)$", text, re.M).group(1)
    recipients = re.findall(r"^recipient: (.*)$", text, re.M)
    contents = text.split("*** MESSAGE CONTENTS", 1)[1].split("\n", 1)[1].split("*** HEADER EXTRACTED", 1)[0]
    return sender, recipients, contents


def send(d, rcpts: list[str], body: bytes, ehlo: str = "client.example"):
    c = d.client()
    c.ehlo(ehlo)
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    for r in rcpts:
        expect(c.cmd(f"RCPT TO:<{r}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.send(dot_stuff(body) + b".\r\n")
    return c, c.reply(timeout=60)


def test_envelope_and_body_reach_postfix(start_daemon, postfix):
    d = start_daemon(forward_config(postfix.port))
    message = make_message(b"first line\n.a line with a leading dot\n..two dots\n\nlast\n")
    c, reply = send(d, [OK1, OK2], message)
    expect(reply, 250, contains="queued as ")
    # qpsmtpd's text with Postfix's queue id, which is how postcat finds the file.
    assert re.fullmatch(r"2\.0\.0 queued as [0-9A-F]{6,}", reply.text), reply
    sender, recipients, contents = stored(postfix, reply)
    assert sender == SENDER
    assert recipients == [OK1, OK2]
    # Postfix's Received, ours, then the message exactly as the client sent it.
    assert contents.startswith("Received: from localhost"), contents[:300]
    assert contents.count("Received: ") == 2 and "HELO client.example" in contents.split("Subject:")[0], contents[:600]
    assert contents.endswith(message.decode()), contents
    c.close()


def test_a_refused_recipient_is_left_out_and_the_others_get_it(start_daemon, postfix):
    d = start_daemon(forward_config(postfix.port))
    c, reply = send(d, [OK1, REFUSED, OK2], make_message(b"partly\n"))
    expect(reply, 250, contains="queued as ")
    _, recipients, _ = stored(postfix, reply)
    assert recipients == [OK1, OK2]
    assert any(REFUSED in line and "User unknown here" in line for line in d.stderr_lines), d.log_tail()
    c.close()


def test_every_recipient_refused_gives_postfix_refusal(start_daemon, postfix):
    d = start_daemon(forward_config(postfix.port))
    c, reply = send(d, [REFUSED], make_message(b"nobody\n"))
    expect(reply, 554, "5.7.1", contains=f"<{REFUSED}>: Recipient address rejected: User unknown here")
    assert "Mail queue is empty" in postfix.queue()
    c.close()


def test_over_postfix_size_limit_gets_its_552(start_daemon, postfix):
    d = start_daemon(forward_config(postfix.port))
    c, reply = send(d, [OK1], make_message((b"y" * 70 + b"\n") * 400))
    expect(reply, 552, "5.3.4", contains="Message size exceeds fixed limit")
    assert "Mail queue is empty" in postfix.queue()
    c.close()


def test_pooled_connection_carries_the_next_message(start_daemon, postfix):
    d = start_daemon(forward_config(postfix.port))
    ids = []
    for n in range(3):
        c, reply = send(d, [OK1], make_message(f"message {n}\n".encode()))
        expect(reply, 250, contains="queued as ")
        ids.append(reply.text.split()[-1])
        c.close()
    assert len(set(ids)) == 3
    # One SMTP connection into Postfix for the three messages (RSET between them).
    assert len(postfix.log_lines("smtpd", "connect from localhost")) == 1, postfix.log()
    assert len(postfix.log_lines("smtpd", "disconnect from")) == 0, postfix.log()


def test_starttls_by_default_without_checking(start_daemon, postfix_tls):
    d = start_daemon(forward_config(postfix_tls.port))
    c, reply = send(d, [OK1], make_message(b"encrypted\n"))
    expect(reply, 250, contains="queued as ")
    _, _, contents = stored(postfix_tls, reply)
    # Postfix's own Received header says how the message came in.
    assert "(using TLSv1." in contents.split("Received:")[1], contents[:400]
    c.close()


def test_tls_verify_with_the_ca_checks_the_certificate(start_daemon, postfix_tls, pki):
    d = start_daemon(forward_config(postfix_tls.port, f" tls_verify {pki['ca']}"))
    c, reply = send(d, [OK1], make_message(b"verified\n"))
    expect(reply, 250, contains="queued as ")
    c.close()
    # The system's roots do not know our test CA: no delivery, a 451, nothing queued.
    d2 = start_daemon(forward_config(postfix_tls.port, " tls_verify system"))
    c, reply = send(d2, [OK1], make_message(b"not verified\n"))
    expect(reply, 451, "4.3.0", contains="TLS")
    c.close()


def test_xclient_passes_our_client_on(start_daemon, postfix):
    d = start_daemon(forward_config(postfix.port, " xclient"))
    c, reply = send(d, [OK1], make_message(b"via xclient\n"), ehlo="real-client.example")
    expect(reply, 250, contains="queued as ")
    text = postfix.postcat(reply.text.split()[-1])
    # Postfix recorded our client's port (XCLIENT PORT), not that of our own connection to it.
    client_port = c.sock.getsockname()[1]
    assert f"named_attribute: client_port={client_port}\n" in text, text
    c.close()


def test_proxy_mode_refuses_at_rcpt_with_postfix_reply(start_daemon, postfix):
    d = start_daemon({"plugins": f"queue/smtp-forward 127.0.0.1 {postfix.port} proxy", "loglevel": "7"})
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    expect(c.cmd(f"RCPT TO:<{REFUSED}>"), 554, "5.7.1", contains="Recipient address rejected: User unknown here")
    expect(c.cmd(f"RCPT TO:<{OK1}>"), 250)
    expect(c.cmd("DATA"), 354)
    message = make_message(b"proxied\n.dot\n")
    c.send(dot_stuff(message) + b".\r\n")
    reply = expect(c.reply(timeout=60), 250, contains="queued as ")
    sender, recipients, contents = stored(postfix, reply)
    assert (sender, recipients) == (SENDER, [OK1])
    assert contents.endswith(message.decode())
    # A second transaction on the same client connection gets a conversation of its own.
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    expect(c.cmd(f"RCPT TO:<{REFUSED}>"), 554, "5.7.1")
    expect(c.cmd("QUIT"), 221)
    c.close()


def test_proxy_mode_with_postfix_down_is_451_at_mail(start_daemon):
    d = start_daemon({"plugins": f"queue/smtp-forward 127.0.0.1 {free_port()} proxy", "loglevel": "7"})
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 451, "4.3.0", contains="Unable to queue message (cannot connect")
    # The session carries on: no sender, so RCPT is out of sequence.
    expect(c.cmd(f"RCPT TO:<{OK1}>"), 503)
    c.close()


def test_postfix_down_is_451_and_nothing_acknowledged(start_daemon):
    d = start_daemon(forward_config(free_port()))
    c, reply = send(d, [OK1], make_message(b"nowhere\n"))
    expect(reply, 451, "4.3.0", contains="Unable to queue message (cannot connect")
    c.close()


class HostileDownstream:
    """A fake SMTP server for what Postfix will not do on request: stop reading in the middle of
    the message (`deaf`), go silent after it (`stall`) or hang up after it (`drop`). Records
    whether it got the whole message."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.got_message = threading.Event()
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

    def talk(self, conn):
        f = conn.makefile("rb")
        conn.sendall(b"220 hostile.example ESMTP\r\n")
        in_data = False
        for line in f:
            if in_data:
                if line == b".\r\n":
                    self.got_message.set()
                    if self.mode == "drop":
                        conn.close()
                        return
                    self.stop.wait(60)  # stall: never answer
                    return
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-hostile.example\r\n250 PIPELINING\r\n")
            elif verb == b"DATA":
                in_data = True
                conn.sendall(b"354 go on\r\n")
                if self.mode == "deaf":
                    self.stop.wait(60)  # read nothing more: our writes back up and time out
                    return
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 ok\r\n")

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("mode", ["deaf", "stall", "drop"])
def test_downstream_stalling_or_dropping_in_data_is_451(start_daemon, mode):
    fake = HostileDownstream(mode)
    try:
        # A plugin timeout of 4 s: the forward steps end half a second before it.
        d = start_daemon(forward_config(fake.port, plugin_timeout=4))
        # Deaf: 16 MB, more than the socket buffers between us and the fake can hold.
        body = (b"z" * 1023 + b"\n") * (16 * 1024) if mode == "deaf" else b"into the void\n"
        c = d.client()
        c.ehlo()
        expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        expect(c.cmd(f"RCPT TO:<{OK1}>"), 250)
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(body)) + b".\r\n")
        started = time.monotonic()
        reply = c.reply(timeout=60)
        elapsed = time.monotonic() - started
        assert fake.got_message.is_set() == (mode != "deaf")
        if mode in ("deaf", "stall"):
            expect(reply, 451, "4.3.0", contains="Unable to queue message (timed out)")
            # The step deadline (3.5 s after the hook began), with room for a loaded machine.
            assert 3.0 < elapsed < 10.0, elapsed
        else:
            expect(reply, 451, "4.3.0", contains="Unable to queue message (connection lost)")
            assert elapsed < 3.0, elapsed
        c.close()
    finally:
        fake.close()
