"""queue/lmtp into Dovecot's real LMTP server (tests/fixtures/dovecot-lmtp.sh: a private
instance on a 127.0.0.1 port and a UNIX socket, Maildirs under its own directory). Each test
checks the delivered Maildir file: Dovecot's Return-Path is our envelope sender, the Maildir
it landed in is the envelope recipient, and the message follows byte for byte. An address
Dovecot does not know is the refused recipient (`550 5.1.1 ... User doesn't exist`).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from smtp_helpers import dot_stuff, expect, free_port, make_message

SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "dovecot-lmtp.sh"
SENDER = "alice@client.example"
USER1, USER2, UNKNOWN = "user1@test.example", "user2@test.example", "nobody@test.example"


class Dovecot:
    def __init__(self, base: Path, port: int):
        self.base, self.port = base, port
        self.socket = base / "run" / "lmtp"

    def delivered(self, user: str) -> list[str]:
        new = self.base / "mail" / user / "new"
        return [p.read_text() for p in sorted(new.iterdir())] if new.is_dir() else []


@pytest.fixture
def dovecot(tmp_path):
    # Dovecot's unprivileged processes must reach the directory: not under pytest's 0700 tmp_path.
    top = Path(tempfile.mkdtemp(prefix="qpsmtpd-lmtp-"))
    top.chmod(0o755)
    base = top / "dovecot"
    p = subprocess.run(["sh", str(SCRIPT), "start", str(base), USER1, USER2], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        pytest.fail(f"dovecot-lmtp.sh start failed (apt-get install dovecot-lmtpd, see .ci/run): {p.stderr}")
    try:
        yield Dovecot(base, int(p.stdout.strip()))
    finally:
        subprocess.run(["sh", str(SCRIPT), "stop", str(base)], capture_output=True, timeout=30)
        if (base / "dovecot.log").exists():
            shutil.copy(base / "dovecot.log", tmp_path / "dovecot.log")
        shutil.rmtree(top, ignore_errors=True)


def send(d, rcpts: list[str], body: bytes):
    c = d.client()
    c.ehlo()
    expect(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
    for r in rcpts:
        expect(c.cmd(f"RCPT TO:<{r}>"), 250)
    expect(c.cmd("DATA"), 354)
    c.send(dot_stuff(body) + b".\r\n")
    return c, c.reply(timeout=60)


def check_file(text: str, message: bytes, user: str) -> None:
    lines = text.split("\n")
    assert lines[0] == f"Return-Path: <{SENDER}>", text[:300]
    # Dovecot names the recipient when a delivery has only one.
    if lines[1].startswith("Delivered-To: "):
        assert lines.pop(1) == f"Delivered-To: {user}", text[:300]
    assert lines[1].startswith("Received: from localhost"), text[:300]  # Dovecot's, naming our EHLO
    assert text.count("Received: ") == 2 and "HELO client.example" in text.split("Subject:")[0], text[:600]  # ours
    # Dovecot stores LF line ends; the message is otherwise exactly what the client sent.
    assert text.endswith(message.decode()), text


@pytest.mark.parametrize("via", ["tcp", "socket"])
def test_delivered_to_every_recipient(start_daemon, dovecot, via):
    where = f"127.0.0.1 {dovecot.port}" if via == "tcp" else str(dovecot.socket)
    d = start_daemon({"plugins": f"rcpt_ok\nqueue/lmtp {where}", "loglevel": "7"})
    message = make_message(b"to both\n.leading dot\n")
    c, reply = send(d, [USER1, USER2], message)
    expect(reply, 250, contains="delivered to 2 of 2 recipients")
    for user in (USER1, USER2):
        files = dovecot.delivered(user)
        assert len(files) == 1, (user, files)
        check_file(files[0], message, user)
    c.close()


def test_an_unknown_user_is_left_out(start_daemon, dovecot):
    d = start_daemon({"plugins": f"rcpt_ok\nqueue/lmtp 127.0.0.1 {dovecot.port}", "loglevel": "7"})
    message = make_message(b"one of two\n")
    c, reply = send(d, [UNKNOWN, USER2], message)
    expect(reply, 250, contains="delivered to 1 of 1 recipients")
    assert dovecot.delivered(USER1) == []
    assert len(dovecot.delivered(USER2)) == 1
    check_file(dovecot.delivered(USER2)[0], message, USER2)
    assert any(UNKNOWN in line and "User doesn't exist" in line for line in d.stderr_lines), d.log_tail()
    c.close()


def test_only_unknown_users_get_dovecot_refusal(start_daemon, dovecot):
    d = start_daemon({"plugins": f"rcpt_ok\nqueue/lmtp 127.0.0.1 {dovecot.port}", "loglevel": "7"})
    c, reply = send(d, [UNKNOWN], make_message(b"nobody home\n"))
    expect(reply, 550, "5.1.1", contains=f"<{UNKNOWN}> User doesn't exist: {UNKNOWN}")
    c.close()


def test_dovecot_down_is_451(start_daemon, dovecot):
    d = start_daemon({"plugins": f"rcpt_ok\nqueue/lmtp 127.0.0.1 {free_port()}", "loglevel": "7"})
    c, reply = send(d, [USER1], make_message(b"nowhere\n"))
    expect(reply, 451, "4.3.0", contains="Unable to queue message (cannot connect")
    assert dovecot.delivered(USER1) == []
    c.close()
