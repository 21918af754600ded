"""queue/exim-bsmtp against a real, private Exim (exim_helpers.py): the batch reaches Exim's
queue with the exact envelope and body, Exim's refusals reach the client with Exim's text,
and a missing or hanging Exim answers 451 without losing anything."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import MEASUREMENTS
from exim_helpers import private_exim  # noqa: F401  (fixture)
from smtp_helpers import dot_stuff, expect, make_message

REFUSE_ACL = (
    "  deny condition = ${if forany{<, $recipients}{match{$item}{\\N^refuse@\\N}}}\n"
    "       message = 5.7.1 <refuse@test.example> is refused by the test's Exim\n"
    "  deny condition = ${if match{$message_body}{REJECTME}}\n"
    "       message = content refused by the test's Exim\n")


def exim_config(exim_path: Path | str, extra: str = "") -> dict[str, str]:
    return {"plugins": f"rcpt_ok\nqueue/exim-bsmtp exim_path {exim_path}{extra}"}


def test_batch_reaches_exims_queue(start_daemon, private_exim):
    exim = private_exim()
    d = start_daemon(config=exim_config(exim.wrapper))
    body = b"first line\n.leading dot\n..two dots\n\nlast line\n"
    sent = make_message(body, subject="to exim")
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@x.example>"), 250)
        for rcpt in ("<a@test.example>", '<"b c"@test.example>', "<postmaster>"):
            expect(c.cmd(f"RCPT TO:{rcpt}"), 250)
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(sent) + b".\r\n")
        expect(c.reply(timeout=30), 250, contains="Queued!")
    [message_id] = exim.queued_ids()
    sender, recipients = exim.envelope(message_id)
    assert sender == "sender@x.example"  # kept: we are one of Exim's trusted_users
    # The quoted local part as we wrote it (qpsmtpd's format() escapes the space); Exim qualifies
    # the bare postmaster with its qualify_domain.
    assert recipients == ["a@test.example", '"b\\ c"@test.example', "postmaster@exim.test.example"]
    assert exim.body(message_id) == body
    headers = exim.headers(message_id)
    assert headers[0].startswith("Received: from ") and "with local-bsmtp" in headers[0]
    assert headers[1].startswith("Received: from ")  # ours, below Exim's
    assert "Subject: to exim" in headers


def test_large_message_is_streamed(start_daemon, private_exim):
    exim = private_exim()
    d = start_daemon(config=exim_config(exim.wrapper))
    line = b"y" * 76 + b"\n"
    body = line * (20 * 1024 * 1024 // len(line))
    with d.client(timeout=120) as c:
        c.ehlo()
        before = d.vmrss_kb()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(body, subject="big"))), 250)
    [message_id] = exim.queued_ids()
    assert exim.body(message_id) == body
    peak = d.vmhwm_kb()
    MEASUREMENTS.append(f"exim-bsmtp: 20 MB message streamed, daemon VmRSS before {before} KiB, VmHWM after {peak} KiB")
    assert peak - before < 20 * 1024, f"daemon grew from {before} to {peak} KiB"


def test_exims_refusals_reach_the_client(start_daemon, private_exim):
    exim = private_exim(not_smtp=REFUSE_ACL)
    d = start_daemon(config=exim_config(exim.wrapper))
    with d.client() as c:
        c.ehlo()
        # One refused recipient: BSMTP cannot refuse it alone, Exim refuses the message.
        expect(c.send_message("s@x.example", ["ok@test.example", "refuse@test.example"], dot_stuff(make_message(b"x\n"))),
               550, "5.7.1", "<refuse@test.example> is refused by the test's Exim")
        expect(c.send_message("s@x.example", ["ok@test.example"], dot_stuff(make_message(b"REJECTME\n"))),
               550, None, "content refused by the test's Exim")
        # The session goes on: the next message is accepted.
        expect(c.send_message("s@x.example", ["ok@test.example"], dot_stuff(make_message(b"fine\n"))), 250, contains="Queued!")
    assert len(exim.queued_ids()) == 1
    assert "rejected by non-SMTP ACL" in exim.main_log()


def test_missing_exim_answers_451(start_daemon, tmp_path):
    d = start_daemon(config=exim_config(tmp_path / "no-such-exim"))
    with d.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 451, "4.3.0", "cannot run Exim")


def test_hanging_exim_is_killed_at_the_deadline(start_daemon, private_exim, tmp_path):
    exim = private_exim()
    slow = tmp_path / "slow-exim"
    marker = tmp_path / "slow-exim-ran"
    # Exim that takes too long: a wrapper that sleeps before it runs the real one.
    slow.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 30\nexec {exim.wrapper} \"$@\"\n")
    slow.chmod(0o755)
    d = start_daemon(config=exim_config(slow, " timeout 2"))
    t0 = time.monotonic()
    with d.client() as c:
        c.ehlo()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 451, "4.3.0", "Exim timed out")
    assert time.monotonic() - t0 < 10
    assert marker.exists()
    time.sleep(1)
    assert exim.queued_ids() == []
    running = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _runs(p, str(slow))]
    assert running == [], f"slow Exim still running: {running}"


def _runs(proc: Path, path: str) -> bool:
    try:
        return path.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def test_private_exim_daemon_for_forwarding_tests(private_exim):
    """The helper's SMTP listener, for tests that forward to a real server: it accepts, stores
    what it got, and refuses a recipient its RCPT ACL refuses."""
    import smtplib
    from smtp_helpers import free_port

    exim = private_exim(smtp_rcpt="  deny local_parts = refuse\n       message = 5.1.1 refused by the test's Exim\n")
    port = exim.start_daemon(free_port())
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        refused = s.sendmail("s@x.example", ["u@test.example", "refuse@test.example"], b"Subject: fwd\r\n\r\nhello\r\n")
    assert refused == {"refuse@test.example": (550, b"5.1.1 refused by the test's Exim")}
    [message_id] = exim.queued_ids()
    assert exim.envelope(message_id) == ("s@x.example", ["u@test.example"])
    assert exim.body(message_id) == b"hello\n"


def test_answer_does_not_wait_for_exims_delivery(start_daemon, private_exim):
    """Exim forks its delivery after accepting the batch; that process keeps Exim's standard error
    open while it delivers. The 250 must not wait for the delivery."""
    exim = private_exim(
        queue_only=False,
        routers="everything:\n  driver = accept\n  transport = slow_pipe\n",
        transports="slow_pipe:\n  driver = pipe\n  command = /bin/sleep 5\n  user = nobody\n")
    d = start_daemon(config=exim_config(exim.wrapper))
    with d.client() as c:
        c.ehlo()
        t0 = time.monotonic()
        expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(make_message(b"x\n"))), 250, contains="Queued!")
        answered = time.monotonic() - t0
    assert answered < 3, f"the 250 took {answered:.1f} s: it waited for Exim's delivery"
    # The delivery did happen, after our answer.
    deadline = time.monotonic() + 15
    while "=> u <u@test.example> R=everything T=slow_pipe" not in exim.main_log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "=> u <u@test.example> R=everything T=slow_pipe" in exim.main_log(), exim.main_log()[-1500:]
