"""queue/qmail-queue against a protocol-faithful stand-in (tests/fixtures/fake-qmail-queue:
qmail is not packaged in Debian): the message on fd 0 with LF line ends, streamed; the envelope
on fd 1; exit codes mapped to 250/451/554; QMAILQUEUE; the plugin's deadline."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from conftest import MEASUREMENTS
from smtp_helpers import dot_stuff, expect, make_message, split_message

FAKE = Path(__file__).resolve().parent.parent / "fixtures" / "fake-qmail-queue"


def fake_queue(tmp_path: Path, name: str = "qq") -> Path:
    """A private directory holding a link to the stand-in; returns the link's path."""
    home = tmp_path / name
    home.mkdir()
    link = home / "qmail-queue"
    link.symlink_to(FAKE)
    assert re.fullmatch(r"/[-/_.A-Za-z0-9]*", str(link)), f"tmp path fails qpsmtpd's path check: {link}"
    return link


def queued(link: Path) -> list[tuple[bytes, bytes, int]]:
    """(message, envelope, pid) for each message the stand-in accepted."""
    queue = link.parent / "queue"
    if not queue.is_dir():
        return []
    out = []
    for n in range(1, 1 + len(list(queue.glob("*.message")))):
        out.append(((queue / f"{n}.message").read_bytes(), (queue / f"{n}.envelope").read_bytes(),
                    int((queue / f"{n}.pid").read_text())))
    return out


def qmail_config(link: Path | str, extra: str = "") -> dict[str, str]:
    return {"plugins": f"rcpt_ok\nqueue/qmail-queue {link}{extra}"}


def test_message_and_envelope_reach_qmail_queue(start_daemon, tmp_path):
    link = fake_queue(tmp_path)
    d = start_daemon(config=qmail_config(link))
    body = b"first line\n.leading dot\n\nlast line\n"
    sent = make_message(body, subject="to qmail")
    message_id = re.search(rb"Message-Id: (<[^>]+>)", sent).group(1).decode()
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<>"), 250)
        expect(c.cmd("RCPT TO:<a@test.example>"), 250)
        expect(c.cmd("RCPT TO:<postmaster>"), 250)
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(sent) + b".\r\n")
        reply = expect(c.reply(timeout=30), 250)
    [(message, envelope, pid)] = queued(link)
    # qpsmtpd's text: Queued! <epoch> qp <pid of qmail-queue> <Message-Id>
    m = re.fullmatch(r"(?:2\.0\.0 )?Queued! (\d+) qp (\d+) (<.*>)", reply.text)
    assert m, reply
    assert abs(int(m.group(1)) - time.time()) < 60 and int(m.group(2)) == pid and m.group(3) == message_id
    # Null sender, bare postmaster, the final extra NUL.
    assert envelope == b"F\0Ta@test.example\0Tpostmaster\0\0"
    assert b"\r" not in message, "qmail-queue wants LF line ends"
    headers, stored_body = split_message(message)
    assert stored_body == body
    assert headers[0].startswith(b"Received: from ")
    assert b"Subject: to qmail" in headers


def test_large_message_is_streamed(start_daemon, tmp_path):
    link = fake_queue(tmp_path)
    d = start_daemon(config=qmail_config(link))
    line = b"x" * 76 + b"\n"
    body = line * (30 * 1024 * 1024 // len(line))
    sent = make_message(body, subject="big")
    with d.client(timeout=120) as c:
        c.ehlo()
        before = d.vmrss_kb()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(sent)), 250)
    [(message, envelope, _)] = queued(link)
    assert split_message(message)[1] == body
    assert envelope == b"Fs@x.example\0Tu@test.example\0\0"
    peak = d.vmhwm_kb()
    MEASUREMENTS.append(f"qmail-queue: 30 MB message streamed, daemon VmRSS before {before} KiB, VmHWM after {peak} KiB")
    # Holding the message (or its LF copy) whole would add 30 MB or more.
    assert peak - before < 25 * 1024, f"daemon grew from {before} to {peak} KiB"


def test_exit_codes(start_daemon, tmp_path):
    link = fake_queue(tmp_path)
    d = start_daemon(config=qmail_config(link))
    cases = [  # code, reply, enhanced code, text
        ("31", 554, "5.3.0", "Unable to queue message (31): mail server permanently refuses"),
        ("11", 554, "5.3.0", "(11): address too long"),
        ("71", 451, "4.3.0", "(71): mail server temporarily refuses"),
        ("53", 451, "4.3.0", "(53): write error"),
        ("73", 451, "4.4.1", "(73): connection to mail server refused"),
        ("99", 451, "4.3.0", "(99): temporary failure"),
    ]
    for code, reply, enhanced, text in cases:
        (link.parent / "exit-code").write_text(code)
        with d.client() as c:
            c.ehlo()
            expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), reply, enhanced, text)
    assert queued(link) == []


def test_qmailqueue_environment_overrides_the_argument(start_daemon, tmp_path, monkeypatch):
    link = fake_queue(tmp_path)
    monkeypatch.setenv("QMAILQUEUE", str(link))
    d = start_daemon(config=qmail_config("/nonexistent/qmail-queue"))
    with d.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 250, contains="Queued!")
    assert len(queued(link)) == 1


def test_missing_program_and_unsafe_path(start_daemon, tmp_path):
    d = start_daemon(config={"plugins": "rcpt_ok\nqueue/qmail-queue /nonexistent/qmail-queue\n"})
    with d.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 451, "4.3.0",
               "cannot run qmail-queue")
    unsafe = tmp_path / "bad+dir"  # "+" is not in qpsmtpd's allowed set
    unsafe.mkdir()
    (unsafe / "qmail-queue").symlink_to(FAKE)
    d = start_daemon(config={"plugins": f"rcpt_ok\nqueue/qmail-queue {unsafe}/qmail-queue\n"})
    with d.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 451, "4.3.0",
               "unsafe qmail-queue path")
    assert not (unsafe / "queue").exists()


def test_program_past_the_deadline_is_killed(start_daemon, tmp_path):
    link = fake_queue(tmp_path)
    (link.parent / "sleep").write_text("30")
    d = start_daemon(config=qmail_config(link, " timeout 2"))
    t0 = time.monotonic()
    with d.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 451, "4.3.0", "timed out")
    assert time.monotonic() - t0 < 10
    time.sleep(0.5)
    assert queued(link) == []
    # Killed, not left sleeping: no process runs the stand-in any more.
    running = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _runs(p, str(link))]
    assert running == [], f"stand-in still running: {running}"


def _runs(proc: Path, path: str) -> bool:
    try:
        return path.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False
