"""kill -9 of our daemon while queue/smtp-forward streams messages into a real Postfix.

A private Postfix (postfix_helpers.PostfixInstance) listens with smtpd on a 127.0.0.1 port and
puts every message it accepts on hold (smtpd_end_of_data_restrictions: HOLD), so its queue keeps
everything it committed. Several smtplib clients send numbered messages through us
(crash_helpers.CrashLoad): small ones, and a few big ones, so that some big message is always
being streamed into Postfix. We answer 250 only after Postfix's 250 for the message, so once our
daemon is SIGKILLed, every message a client got 250 for must be in Postfix's queue. Postfix may
hold more: a message it acknowledged to us just before we died, whose 250 never reached our
client (a duplicate when the client retries). Never fewer.
"""
from __future__ import annotations

import re
import time

import pytest

from conftest import MEASUREMENTS
from crash_helpers import CrashLoad, filler, recipient, started_in_postfix
from postfix_helpers import PostfixInstance, require_postfix, stop_all
from smtp_helpers import free_port

SMALL_CLIENTS = 6
BIG_CLIENTS = 3
CRASH_AFTER = 300
BIG = 4 * 1024 * 1024
QUEUED_AS_RE = re.compile(r"^2\.0\.0 queued as ([0-9A-F]+)$")


@pytest.fixture
def postfix(tmp_path):
    require_postfix()
    port = free_port()
    pf = PostfixInstance({
        "myhostname": "postfix.test.example",
        "smtpd_recipient_restrictions": "permit_mynetworks, reject",
        # Everything it accepts stays in its queue, on hold, for postqueue to list.
        "smtpd_end_of_data_restrictions": "check_client_access static:HOLD",
        "message_size_limit": str(4 * BIG),
        # Held mail earns no flow-control tokens; without this each message would wait 1 s.
        "in_flow_delay": "0",
    }, keep_log_in=tmp_path / "postfix", smtpd_listen=f"127.0.0.1:{port}")
    pf.port = port
    try:
        pf.start()
        yield pf
    finally:
        stop_all(pf)


def queue_id(text: str) -> str:
    m = QUEUED_AS_RE.match(text)
    assert m, f"unexpected 250 text: {text!r}"
    return m.group(1)


def wait_smtpd_sessions_ended(pf: PostfixInstance, timeout: float = 20.0) -> None:
    """After the kill every smtpd session ends (smtpd logs "disconnect from" for each
    "connect from"); only then is what Postfix committed final."""
    deadline = time.monotonic() + timeout
    while True:
        connects = len(pf.log_lines("smtpd", ": connect from "))
        disconnects = len(pf.log_lines("smtpd", ": disconnect from "))
        if connects == disconnects:
            return
        assert time.monotonic() < deadline, f"{connects - disconnects} smtpd sessions still open\n{pf.log()[-2000:]}"
        time.sleep(0.1)


def test_kill_9_while_forwarding_loses_no_acknowledged_message(start_daemon, postfix):
    d = start_daemon({"plugins": f"rcpt_ok\nqueue/smtp-forward 127.0.0.1 {postfix.port}", "loglevel": "6"})
    load = CrashLoad(d, queue_id, small_clients=SMALL_CLIENTS, big_clients=BIG_CLIENTS,
                     small_body=filler(28_000), big_body=filler(BIG))
    load.run_until_acknowledged(CRASH_AFTER, timeout=40)
    in_flight = load.wait_big_in_flight(postfix, at_least=2, timeout=20)
    elapsed = load.kill_daemon()
    acked = load.acknowledged_now()
    wait_smtpd_sessions_ended(postfix)

    entries = postfix.queue_entries()
    missing = {n: qid for n, qid in acked.items() if qid not in entries}
    assert not missing, f"acknowledged but not in Postfix's queue: {missing}"
    # The queue file we named holds that very message: its recipient, its Message-Id.
    started = started_in_postfix(postfix)
    wrong = {n: qid for n, qid in acked.items()
             if [r["address"] for r in entries[qid]["recipients"]] != [recipient(n)] or started.get(qid) != n}
    assert not wrong, wrong
    assert all(e["queue_name"] == "hold" for e in entries.values()), entries
    # Committed by Postfix, never acknowledged to our client: at most one per client.
    unacknowledged = set(entries) - set(acked.values())
    assert len(unacknowledged) <= load.clients, (len(unacknowledged), unacknowledged)
    assert all(qid in started and started[qid] not in acked for qid in unacknowledged), unacknowledged
    # Messages Postfix had begun to receive and never committed: at least one of the big ones
    # we were streaming at the kill; Postfix discarded them.
    cut = {qid: n for qid, n in started.items() if qid not in entries}
    assert cut.keys().isdisjoint(acked.values())
    assert any(n in load.big_numbers for n in cut.values()), (cut, in_flight, load.big_numbers)
    assert postfix.log_lines("lost connection after DATA"), postfix.log()[-2000:]
    big_acked = len(load.big_numbers & set(acked))
    summary = (f"smtp-forward kill -9: {len(acked)} acknowledged ({big_acked} of 4 MB), all {len(acked)} in Postfix's "
               f"queue; {len(unacknowledged)} more committed unacknowledged (duplicates on retry); "
               f"{len(cut)} cut off mid-stream ({len(in_flight)} big in flight at the kill) and discarded; "
               f"{elapsed:.1f} s from the first client to the last one seeing the kill")
    print(summary)
    MEASUREMENTS.append(summary)
