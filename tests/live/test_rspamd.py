"""rspamd against a real rspamd (Debian's rspamd 3.4, installed by .ci/run), started privately by
rspamd_helpers.py: the package's rules, no network lookups, thresholds far apart and a local
rule that turns the message's `X-Test-Score` / `X-Test-Action` into rspamd's verdict, so every
action is shown end to end. The `rspamd` plugin speaks /checkv2 over HTTP; the last tests run
the same rspamd as a milter (its proxy worker, `milter = yes`, scanning itself) through our
`milter` plugin. Failure paths: rspamd down (fail-open, or 451 with defer_on_error), a silent
peer past the timeout, a peer answering garbage.
"""
from __future__ import annotations

import email.utils
import re
import socket
import time

import pytest

from conftest import MEASUREMENTS
from rspamd_helpers import start_rspamd
from scanner_daemons import GTUBE
from scanner_fakes import FakePeer
from smtp_helpers import dot_stuff, expect, free_port, make_message

SENDER, RCPT = "alice@client.example", "u@test.example"


@pytest.fixture(scope="module")
def rspamd():
    with start_rspamd(milter=True) as daemon:
        yield daemon


def plugins(line: str) -> str:
    return f"rcpt_ok\n{line}\nqueue/maildir {{maildir}}"


def message(body: bytes = b"Lunch at noon tomorrow?\n", subject: str = "live test", extra: list[str] | None = None) -> bytes:
    return make_message(body, subject=subject, extra_headers=[f"Date: {email.utils.formatdate()}", *(extra or [])])


def send(d, msg: bytes, rcpts: tuple[str, ...] = (RCPT,), sender: str = SENDER):
    c = d.client()
    c.ehlo()
    return c.send_message(sender, list(rcpts), dot_stuff(msg))


def header_of(stored: bytes) -> dict[str, str]:
    """Unfolded field values of a delivered message (the last of each name)."""
    head = re.split(rb"\r?\n\r?\n", stored, maxsplit=1)[0].decode()
    fields: dict[str, str] = {}
    name = ""
    for line in re.split(r"\r?\n", head):
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
        else:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def eventually(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def names_of(stored: bytes) -> list[str]:
    head = re.split(rb"\r?\n\r?\n", stored, maxsplit=1)[0].decode()
    return [line.split(":", 1)[0] for line in re.split(r"\r?\n", head) if line[:1] not in (" ", "\t")]


def test_gtube_is_rejected_with_rspamds_message(start_daemon, rspamd):
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address}")})
    reply = send(d, message(b"Buy now.\n" + GTUBE + b"\n"))
    expect(reply, 554, "5.7.1", contains="Gtube pattern")
    assert reply.lines == ["5.7.1 Gtube pattern"], reply
    assert d.messages() == []


def test_rspamd_asks_only_the_dead_loopback_resolver(rspamd):
    """The helper's isolation: rspamd looks up the rDNS name of a client address it is given
    without a Hostname, and its resolver's socket points at 127.0.0.1:1 (nothing listens),
    not at resolv.conf's servers. Asked directly, since rspamd skips the lookup for 127.0.0.1."""
    body = b"Subject: x\r\nFrom: a@b.example\r\n\r\nhello\r\n"
    host, port = rspamd.address.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /checkv2 HTTP/1.1\r\nIP: 192.0.2.7\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert b'"RDNS_NONE"' in answer, answer
    peers = rspamd.udp_peers() - {("0.0.0.0", 0), ("::", 0)}
    assert peers == {("127.0.0.1", 1)}, (peers, [l for l in rspamd.log().splitlines() if "nameserver" in l])


def test_clean_message_passes_with_the_status_and_rspamds_headers(start_daemon, rspamd):
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address} headers symbols")})
    msg = message(extra=["X-Spam-Status: Yes, forged upstream", "X-Spam: Yes"])
    expect(send(d, msg), 250)
    stored = d.wait_messages(1)[0]
    fields = header_of(stored)
    assert re.fullmatch(r"No, score=-?\d+\.\d\d required=50\.00 action=no action", fields["X-Spam-Status"]), fields
    assert "X-Spam-Flag" not in fields and "X-Spam" not in fields, fields  # the forged ones are gone
    assert names_of(stored).count("X-Spam-Status") == 1
    # rspamd's own fields (milter_headers: x-spamd-result, x-rspamd-queue-id) from milter.add_headers.
    assert fields["X-Spamd-Result"].startswith("default: False ["), fields
    # The queue id rspamd was told is our transaction's; its log shows the envelope it was told.
    qid = fields["X-Rspamd-Queue-Id"]
    # (Both logs are written after the reply: wait for them.)
    assert eventually(lambda: any(f"message {qid} from <{SENDER}>" in line for line in d.stderr_lines)), (qid, d.log_tail())

    def task_lines():
        return [line for line in rspamd.log().splitlines() if f"qid: <{qid}>" in line and "rspamd_task_write_log" in line]
    assert eventually(task_lines), rspamd.log()[-3000:]
    task = task_lines()
    assert len(task) == 1, task
    assert f"ip: 127.0.0.1, from: <{SENDER}>" in task[0] and f"rcpts: <{RCPT}>" in task[0], task
    # Every symbol rspamd matched, with its score; the envelope made it there (one recipient).
    assert "RCPT_COUNT_ONE(0.00)" in fields["X-Spam-Symbols"], fields
    assert stored.rstrip().endswith(b"Lunch at noon tomorrow?")


@pytest.mark.parametrize("score, action, code", [
    (22, "add header", 250),
    (32, "rewrite subject", 250),
    (55, "reject", 554),
])
def test_actions_by_score(start_daemon, rspamd, score, action, code):
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address}")})
    reply = send(d, message(subject="cheap things", extra=[f"X-Test-Score: {score}"]))
    expect(reply, code)
    if code == 554:
        assert reply.lines == ["5.7.1 Spam message rejected"], reply
        assert d.messages() == []
        return
    fields = header_of(d.wait_messages(1)[0])
    assert fields["X-Spam-Flag"] == "YES", fields
    assert re.fullmatch(rf"Yes, score=\d+\.\d\d required=50\.00 action={action}", fields["X-Spam-Status"]), fields
    if action == "add header":
        assert fields["X-Spam"] == "Yes" and fields["Subject"] == "cheap things", fields
    else:
        assert fields["Subject"] == "***SPAM*** cheap things" and "X-Spam" not in fields, fields


def test_soft_reject(start_daemon, rspamd):
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address}")})
    reply = send(d, message(extra=["X-Test-Action: soft reject"]))
    expect(reply, 451, "4.7.1")
    assert reply.lines == ["4.7.1 forced by the test"], reply  # rspamd's smtp_message
    assert d.messages() == []


def test_greylist_then_accepted_after_the_delay(start_daemon, rspamd):
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address} greylist_delay 3")})
    grey = message(extra=["X-Test-Score: 12"])
    first = send(d, grey)
    expect(first, 451, "4.7.1")
    assert first.lines == ["4.7.1 Try again later (greylisted)"], first
    expect(send(d, grey), 451, "4.7.1")  # too soon
    # Another triplet (a different sender) is greylisted on its own.
    expect(send(d, grey, sender="bob@client.example"), 451, "4.7.1")
    time.sleep(3.2)
    expect(send(d, grey), 250)
    fields = header_of(d.wait_messages(1)[0])
    assert re.fullmatch(r"No, score=\d+\.\d\d required=50\.00 action=greylist", fields["X-Spam-Status"]), fields
    # Whitelisted now: the next one passes at once.
    expect(send(d, grey), 250)
    assert len(d.wait_messages(2)) == 2


def test_rspamd_down_fails_open_by_default_and_defers_when_asked(start_daemon):
    port = free_port()  # nothing listens there
    d = start_daemon({"plugins": plugins(f"rspamd 127.0.0.1:{port}")})
    expect(send(d, message(GTUBE + b"\n")), 250)
    assert b"X-Spam-" not in d.wait_messages(1)[0]
    d2 = start_daemon({"plugins": plugins(f"rspamd 127.0.0.1:{port} defer_on_error yes")})
    reply = send(d2, message())
    expect(reply, 451, "4.7.1")
    assert reply.lines == ["4.7.1 Unable to scan for spam, try again later"], reply
    assert d2.messages() == []


def test_silent_rspamd_times_out_below_the_hook(start_daemon):
    peer = FakePeer(None)  # accepts, never answers
    try:
        d = start_daemon({"plugins": plugins(f"rspamd {peer.address} defer_on_error yes timeout 3")})
        t0 = time.monotonic()
        expect(send(d, message()), 451, "4.7.1", contains="Unable to scan for spam")
        took = time.monotonic() - t0
        assert 2.0 <= took < 4.0, took
        d2 = start_daemon({"plugins": plugins(f"rspamd {peer.address} timeout 2")})
        expect(send(d2, message()), 250)
        assert b"X-Spam-" not in d2.wait_messages(1)[0]
        assert peer.connections == 2
        d2.assert_alive()
    finally:
        peer.close()


@pytest.mark.parametrize("garbage", [
    b"SPAMD/1.1 0 EX_OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!",
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}",
])
def test_garbage_from_rspamd_fails_open_or_closed(start_daemon, garbage):
    peer = FakePeer(garbage)
    try:
        d = start_daemon({"plugins": plugins(f"rspamd {peer.address}")})
        expect(send(d, message(GTUBE + b"\n")), 250)
        d2 = start_daemon({"plugins": plugins(f"rspamd {peer.address} defer_on_error yes")})
        expect(send(d2, message()), 451, "4.7.1", contains="Unable to scan for spam")
        assert peer.connections == 2
    finally:
        peer.close()


def test_messages_per_second_through_rspamd(start_daemon, rspamd):
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address}")})
    n = 30
    c = d.client()
    c.ehlo()
    rate = c.send_all(SENDER, [RCPT], [dot_stuff(message(b"message %d\n" % i + b"text line\n" * 200)) for i in range(n)])
    d.wait_messages(n, timeout=30)
    MEASUREMENTS.append(f"rspamd: {rate:.1f} messages/s through rspamd /checkv2 (one connection, 1 worker, ~2 KB messages)")


def test_a_large_message_is_streamed_to_rspamd(start_daemon, rspamd):
    """With max_size raised, a 50 MB message goes to rspamd from the spool in chunks (rspamd
    reads exactly the announced Content-Length before it answers, and our test rule's score
    rejects it; rspamd checks GTUBE only in small text parts), and the daemon's peak memory
    grows by far less than the message."""
    d = start_daemon({"plugins": plugins(f"rspamd {rspamd.address} max_size 60000000 timeout 110")})
    wire = dot_stuff(message((b"z" * 998 + b"\n") * 50_000, extra=["X-Test-Score: 55"]))
    before = d.vmhwm_kb()
    c = d.client()
    c.ehlo()
    t0 = time.monotonic()
    reply = c.send_message(SENDER, [RCPT], wire)
    took = time.monotonic() - t0
    expect(reply, 554, "5.7.1", contains="Spam message rejected")
    growth_mb = (d.vmhwm_kb() - before) / 1024
    MEASUREMENTS.append(f"rspamd: {len(wire) / 1e6:.0f} MB message through rspamd in {took:.1f} s; "
                        f"daemon peak memory grew {growth_mb:.1f} MB")
    assert growth_mb < 25, growth_mb


# rspamd as a milter: the proxy worker with `milter = yes` and a self-scanning upstream, reached
# through our milter plugin with Postfix's socket syntax.

def test_milter_mode_refuses_gtube(start_daemon, rspamd):
    host, port = rspamd.milter_address.split(":")
    d = start_daemon({"plugins": plugins(f"milter rspamd inet:{port}@{host}")})
    reply = send(d, message(b"Buy now.\n" + GTUBE + b"\n"))
    expect(reply, 554, "5.7.1")
    assert reply.lines == ["5.7.1 Gtube pattern"], reply
    assert d.messages() == []
    d.assert_alive()


def test_milter_mode_passes_a_clean_message_with_rspamds_headers(start_daemon, rspamd):
    host, port = rspamd.milter_address.split(":")
    d = start_daemon({"plugins": plugins(f"milter rspamd inet:{port}@{host}")})
    expect(send(d, message(extra=["X-Spam: Yes"])), 250)
    stored = d.wait_messages(1)[0]
    fields = header_of(stored)
    assert fields["X-Spamd-Result"].startswith("default: False ["), fields
    assert "X-Rspamd-Queue-Id" in fields, fields
    assert "X-Spam" not in fields, fields  # rspamd's remove_headers
    assert stored.rstrip().endswith(b"Lunch at noon tomorrow?")
    # add header through the milter: rspamd's spam_header.
    expect(send(d, message(extra=["X-Test-Score: 22"])), 250)
    assert header_of(d.wait_messages(2)[1])["X-Spam"] == "Yes"
