"""queue/smtp-forward with a real Exim downstream (exim_helpers.PrivateExim listening for SMTP
on a 127.0.0.1 port). Exim keeps what it accepts in its queue (queue_only), so the test reads
exactly what it stored: the envelope from the spool's -H file, the body with `exim -Mvb`. Its
RCPT ACL refuses refuse@ and refuse2@test.example, as a real MX refuses an unknown user.
"""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from exim_helpers import PrivateExim, private_exim  # noqa: F401  (fixture)
from smtp_helpers import Reply, dot_stuff, expect, free_port, make_message

SENDER = "alice@client.example"
OK1, OK2, TAGGED, QUOTED = "one@test.example", "two@test.example", "three+tag@test.example", '"b c"@test.example'
REFUSED, REFUSED2 = "refuse@test.example", "refuse2@test.example"
REFUSE_ACL = (
    "  deny local_parts = refuse : refuse2\n"
    "       message = 5.1.1 <$local_part@$domain> is unknown to the test's Exim\n")
# Exim's 250 after the message names its message id: "250 OK id=<id>"; we pass the last word on.
QUEUED_AS_RE = re.compile(r"^2\.0\.0 queued as id=(\S+)$")


def exim_downstream(private_exim) -> PrivateExim:
    exim = private_exim(smtp_rcpt=REFUSE_ACL)
    exim.start_daemon(free_port())
    return exim


def forward_config(exim: PrivateExim) -> dict[str, str]:
    return {"plugins": f"rcpt_ok\nqueue/smtp-forward 127.0.0.1 {exim.port}", "loglevel": "7"}


def send(d, rcpts: list[str], message_lf: bytes) -> Reply:
    with d.client(timeout=60) as c:
        c.ehlo("client.example")
        return c.send_message(SENDER, rcpts, dot_stuff(message_lf))


def exim_id(reply: Reply) -> str:
    m = QUEUED_AS_RE.match(reply.text)
    assert m, f"no Exim message id in {reply}"
    return m.group(1)


def stop_entirely(exim: PrivateExim) -> None:
    """Stop the listening daemon and the processes it forked for open SMTP sessions (they carry
    on without it, and would still take a message over our pooled connection). Each runs with
    this instance's own -C path on its command line, so nothing else is touched."""
    exim.stop()
    mine = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(exim.config).encode() in (proc / "cmdline").read_bytes().split(b"\0"):
                mine.append(int(proc.name))
        except OSError:
            continue
    for pid in mine:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in mine):
        assert time.monotonic() < deadline, f"Exim session processes {mine} still run 5 s after SIGTERM"
        time.sleep(0.05)


def test_exact_envelope_and_body_reach_exims_queue(start_daemon, private_exim):
    exim = exim_downstream(private_exim)
    d = start_daemon(forward_config(exim))
    body = (b"first line\n.a line with a leading dot\n..two dots\n.\n\n"
            + "gr\u00fc\u00dfe aus K\u00f6ln\n".encode() + b"x" * 900 + b"\nlast line\n")
    message = make_message(body, subject="to exim")
    reply = expect(send(d, [OK1, OK2, TAGGED, QUOTED], message), 250)
    message_id = exim_id(reply)
    assert exim.queued_ids() == [message_id]
    # The quoted local part as qpsmtpd writes it (the space escaped, the same address).
    assert exim.envelope(message_id) == (SENDER, [OK1, OK2, TAGGED, '"b\\ c"@test.example'])
    assert exim.body(message_id) == body
    headers = exim.headers(message_id)
    # Exim's Received: over SMTP from us, under STARTTLS (Exim offers it with a certificate it
    # makes itself; we encrypt whenever offered). Ours below it, then the client's header.
    assert headers[0].startswith("Received: from [127.0.0.1]") and "by exim.test.example with esmtps " in headers[0], \
        headers[0]
    assert headers[1].startswith("Received: from ") and "client.example" in headers[1], headers[1]
    sent_headers = message.split(b"\n\n", 1)[0].decode().split("\n")
    assert headers[2:2 + len(sent_headers)] == sent_headers, headers
    assert f"{message_id} <= {SENDER} H=" in exim.main_log(), exim.main_log()


def test_a_recipient_exim_refuses_is_left_out_and_the_others_get_it(start_daemon, private_exim):
    exim = exim_downstream(private_exim)
    d = start_daemon(forward_config(exim))
    body = b"some of you\n"
    reply = expect(send(d, [OK1, REFUSED, OK2, REFUSED2], make_message(body)), 250)
    message_id = exim_id(reply)
    assert exim.queued_ids() == [message_id]
    assert exim.envelope(message_id) == (SENDER, [OK1, OK2])
    assert exim.body(message_id) == body
    # Both refusals are logged by us with Exim's reason, and Exim logged them too.
    for refused in (REFUSED, REFUSED2):
        assert any(refused in line and "is unknown to the test's Exim" in line for line in d.stderr_lines), d.log_tail()
        assert f"rejected RCPT <{refused}>" in exim.main_log(), exim.main_log()


def test_every_recipient_refused_gives_exims_refusal(start_daemon, private_exim):
    exim = exim_downstream(private_exim)
    d = start_daemon(forward_config(exim))
    reply = send(d, [REFUSED, REFUSED2], make_message(b"nobody\n"))
    # Exim's code and text for the first recipient, as Exim sent it.
    expect(reply, 550, "5.1.1", contains=f"<{REFUSED}> is unknown to the test's Exim")
    assert reply.text == f"5.1.1 <{REFUSED}> is unknown to the test's Exim", reply
    assert exim.queued_ids() == []
    # Nothing is left half-open downstream: the next message is taken.
    expect(send(d, [OK1], make_message(b"fine\n")), 250, contains="queued as id=")
    assert len(exim.queued_ids()) == 1


def test_exim_down_is_451_and_nothing_is_lost(start_daemon, private_exim):
    exim = exim_downstream(private_exim)
    d = start_daemon(forward_config(exim))
    expect(send(d, [OK1], make_message(b"before\n")), 250, contains="queued as id=")
    stop_entirely(exim)
    # Exim gone: the pooled connection is dead and a new one is refused. Not a 250, not a 5xx.
    reply = send(d, [OK2], make_message(b"while exim is down\n"))
    expect(reply, 451, "4.3.0", contains="Unable to queue message (cannot connect to 127.0.0.1:")
    [only] = exim.queued_ids()
    assert exim.envelope(only) == (SENDER, [OK1])
    # Exim back on the same port: the client's retry goes through.
    exim.start_daemon(exim.port)
    reply = expect(send(d, [OK2], make_message(b"while exim is down\n")), 250)
    assert exim.envelope(exim_id(reply)) == (SENDER, [OK2])
