"""queue/postfix-queue against a real Postfix: our daemon hands each message to the cleanup
service of a private Postfix instance (tests/live/postfix_helpers.py: own config, queue and data
directories, no listener but the cleanup service's UNIX socket, and a TCP one where a test adds
it). FLAG_HOLD puts every message on hold, so it stays in Postfix's queue for postqueue and
postcat to show exactly what Postfix stored.
"""
from __future__ import annotations

import hashlib
import os
import re
import signal
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest

from crash_helpers import CrashLoad, filler, recipient, started_in_postfix
from postfix_helpers import PostfixInstance, require_postfix, stop_all

POSTCAT = "/usr/sbin/postcat"
QUEUED_RE = re.compile(r"^2\.0\.0 Queued! (<[^>]*>) \(Queue-Id: ([0-9A-Za-z]+)\)$")
HEADER_CHECKS = (
    "/^Subject: .*reject-permanently/ REJECT 5.7.1 Postfix says no\n"
    "/^Subject: .*reject-temporarily/ REJECT 4.7.1 Postfix says later\n"
)
SIZE_LIMIT = 200_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def start_postfix(tmp_path):
    """start_postfix(inet_port=None, size_limit=SIZE_LIMIT) -> a started PostfixInstance with
    header_checks, that message_size_limit, and (with inet_port) a cleanup service on that TCP port
    too. Stopped, and checked to have stopped cleanly, on teardown. Fails, never skips, when
    Postfix is missing."""
    require_postfix(POSTCAT)
    instances: list[PostfixInstance] = []

    def start(inet_port: int | None = None, size_limit: int = SIZE_LIMIT) -> PostfixInstance:
        params = {
            "message_size_limit": str(size_limit),
            "header_checks": "regexp:${config_directory}/header_checks",
            # Held mail earns no flow-control tokens; without this each cleanup would pause 1 s.
            "in_flow_delay": "0",
        }
        pf = PostfixInstance(params, {"header_checks": HEADER_CHECKS}, keep_log_in=tmp_path / f"postfix{len(instances) + 1}")
        instances.append(pf)
        if inet_port is not None:
            with open(pf.config_dir / "master.cf", "a") as f:
                f.write(f"127.0.0.1:{inet_port} inet n - n - 0 cleanup\n")
        pf.start()
        wait_for_socket(cleanup_socket(pf))
        return pf

    yield start
    stop_all(*instances)


def cleanup_socket(pf: PostfixInstance) -> Path:
    return pf.queue_dir / "public" / "cleanup"


def wait_for_socket(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def queue_files(pf: PostfixInstance) -> list[str]:
    """Every queue file, in any of Postfix's queues: works while Postfix is stopped too."""
    found = []
    for queue in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
        for root, _, files in os.walk(pf.queue_dir / queue):
            found += [os.path.join(root, f) for f in files]
    return found


def postcat(pf: PostfixInstance, queue_id: str, *options: str) -> bytes:
    p = pf.run(POSTCAT, "-c", str(pf.config_dir), *options, "-q", queue_id)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


def daemon_config(plugin_line: str, **extra: str) -> dict[str, str]:
    return {"plugins": f"rcpt_ok\n{plugin_line}", "loglevel": "6", **extra}


def send(d, sender: str, recipients: list[str], message: bytes) -> tuple[int, str]:
    """MAIL, RCPT..., DATA; the reply to the message (LF text, sent with CRLF; smtplib
    dot-stuffs and ends it)."""
    with smtplib.SMTP(d.host, d.port, timeout=60) as s:
        s.ehlo("client.example")
        code, text = s.mail(sender)
        assert code == 250, text
        for r in recipients:
            code, text = s.rcpt(r)
            assert code == 250, (r, text)
        code, text = s.data(message.replace(b"\n", b"\r\n"))
        return code, text.decode(errors="replace")


def message(subject: str, message_id: str, body: str = "Hello.\n") -> bytes:
    return (f"From: Alice <alice@client.example>\nTo: <one@test.example>\nSubject: {subject}\n"
            f"Date: Mon, 30 Nov 2026 12:00:00 +0000\nMessage-Id: {message_id}\n\n{body}").encode()


def test_envelope_and_body_are_in_postfixs_queue(start_daemon, start_postfix):
    pf = start_postfix()
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    long_line = "L" * 5000
    body = (f"first line\n.a line that starts with a dot\n\n{long_line}\n"
            "gr\u00fc\u00dfe aus K\u00f6ln\nlast line\n")
    original = message("envelope check", "<envelope-1@client.example>", body)
    recipients = ["one@test.example", "two+tag@test.example", '"a b"@test.example']
    code, text = send(d, "alice@client.example", recipients, original)
    assert code == 250, text
    match = QUEUED_RE.match(text)
    assert match, text
    assert match.group(1) == "<envelope-1@client.example>"
    qid = match.group(2)

    entries = pf.queue_entries()
    assert list(entries) == [qid], entries
    entry = entries[qid]
    assert entry["queue_name"] == "hold"
    assert entry["sender"] == "alice@client.example"
    assert [r["address"] for r in entry["recipients"]] == recipients

    envelope = postcat(pf, qid, "-e").decode()
    assert "\nsender: alice@client.example\n" in envelope, envelope
    # Postfix keeps addresses unquoted inside its queue file.
    assert [line.split(": ", 1)[1] for line in envelope.splitlines() if line.startswith("recipient: ")] == [
        "one@test.example", "two+tag@test.example", "a b@test.example"], envelope

    content = postcat(pf, qid, "-bh")
    # Our Received header on top, then the message byte for byte (LF line ends, dots unstuffed,
    # the 5000-octet line joined again from its L records).
    assert content.startswith(b"Received: from "), content[:300]
    assert content.endswith(original), content[-600:]
    ours = content[:-len(original)]
    assert all(re.match(rb"^(Received: |\s)", line) for line in ours.splitlines()), ours
    assert f"{qid}: message-id=<envelope-1@client.example>" in pf.log()


def test_large_message_streams_into_postfix(start_daemon, start_postfix):
    """32 MB, spooled to disk on arrival, reaches Postfix whole, and our daemon's peak RSS does
    not grow by anything near its size: it is streamed from the spool into cleanup."""
    size = 32 * 1024 * 1024
    pf = start_postfix(size_limit=2 * size)
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    code, text = send(d, "alice@client.example", ["one@test.example"], message("warm-up", "<warm-1@client.example>"))
    assert code == 250, text
    hwm_before = d.vmhwm_kb()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n"
    chunk = line * 13_000
    n_chunks = size // len(chunk) + 1
    body = hashlib.sha256()
    with smtplib.SMTP(d.host, d.port, timeout=300) as s:
        s.ehlo("client.example")
        assert s.mail("alice@client.example")[0] == 250
        assert s.rcpt("one@test.example")[0] == 250
        assert s.docmd("DATA")[0] == 354
        s.sock.sendall(message("large", "<large-1@client.example>", "").replace(b"\n", b"\r\n"))
        for _ in range(n_chunks):
            s.sock.sendall(chunk)
            body.update(chunk.replace(b"\r\n", b"\n"))
        s.sock.sendall(b".\r\n")
        code, reply = s.getreply()
    text = reply.decode(errors="replace")
    assert code == 250, text
    qid = QUEUED_RE.match(text).group(2)
    growth_mb = (d.vmhwm_kb() - hwm_before) / 1024
    stored = postcat(pf, qid, "-b")
    assert len(stored) == n_chunks * len(chunk.replace(b"\r\n", b"\n")) + 1, len(stored)  # + the empty line after the header
    assert hashlib.sha256(stored[1:]).hexdigest() == body.hexdigest()
    print(f"32 MB into Postfix: VmHWM growth {growth_mb:.1f} MB")
    assert growth_mb < 24, growth_mb


def test_null_sender(start_daemon, start_postfix):
    pf = start_postfix()
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    code, text = send(d, "", ["one@test.example"], message("bounce", "<bounce-1@client.example>"))
    assert code == 250, text
    qid = QUEUED_RE.match(text).group(2)
    # postqueue shows an empty sender as MAILER-DAEMON; the queue file has it empty.
    assert pf.queue_entries()[qid]["sender"] == "MAILER-DAEMON"
    assert "\nsender: \n" in postcat(pf, qid, "-e").decode()


def test_message_over_postfixs_size_limit_is_refused_with_its_reason(start_daemon, start_postfix):
    pf = start_postfix()
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    big = message("too big", "<big-1@client.example>", ("x" * 999 + "\n") * (SIZE_LIMIT // 1000 + 50))
    code, text = send(d, "alice@client.example", ["one@test.example"], big)
    assert (code, text) == (552, "5.3.4 message file too big"), text
    assert queue_files(pf) == []
    assert pf.log_lines("queue file size limit exceeded"), pf.log()


@pytest.mark.parametrize("subject,code,reply", [
    ("please reject-permanently", 550, "5.7.1 Postfix says no"),
    ("please reject-temporarily", 451, "4.7.1 Postfix says later"),
])
def test_header_checks_refusal_reaches_the_client(start_daemon, start_postfix, subject, code, reply):
    pf = start_postfix()
    # header_checks run only with FLAG_FILTER (part of FLAG_MASK_EXTERNAL).
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_MASK_EXTERNAL FLAG_HOLD"))
    got = send(d, "alice@client.example", ["one@test.example"], message(subject, "<hc-1@client.example>"))
    assert got == (code, reply)
    assert queue_files(pf) == []
    # Without FLAG_FILTER the same message is queued.
    d2 = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    code2, text2 = send(d2, "alice@client.example", ["one@test.example"], message(subject, "<hc-2@client.example>"))
    assert code2 == 250, text2


def test_missing_socket_is_a_temporary_failure(start_daemon, start_postfix, tmp_path):
    pf = start_postfix()
    d = start_daemon(daemon_config(f"queue/postfix-queue {tmp_path}/no/such/cleanup FLAG_HOLD"))
    code, text = send(d, "alice@client.example", ["one@test.example"], message("lost?", "<missing-1@client.example>"))
    assert (code, text) == (451, "4.3.0 Unable to queue message: Postfix's cleanup service is unavailable")
    assert queue_files(pf) == []
    assert any("cannot connect to cleanup at" in line for line in d.stderr_lines), d.log_tail()


def test_stopped_postfix_is_a_temporary_failure(start_daemon, start_postfix):
    pf = start_postfix()
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    p = pf.postfix("stop")
    assert p.returncode == 0, p.stderr
    deadline = time.monotonic() + 10
    while pf._ours(pf.master_pid):
        assert time.monotonic() < deadline, "Postfix did not stop"
        time.sleep(0.05)
    pf.master_pid = None  # stopped here; teardown only removes the directory
    assert cleanup_socket(pf).exists()  # the socket file stays, nobody listens
    code, text = send(d, "alice@client.example", ["one@test.example"], message("stopped", "<stopped-1@client.example>"))
    assert (code, text) == (451, "4.3.0 Unable to queue message: Postfix's cleanup service is unavailable")
    assert queue_files(pf) == []


def test_cleanup_that_never_answers_times_out_below_the_hook_deadline(start_daemon, start_postfix):
    """Postfix's master and cleanup processes stopped (SIGSTOP): the connection is accepted into
    the socket's backlog, the greeting never comes. `timeout 3` gives the hook 3 s; we answer
    451 before it, and nothing is queued once Postfix runs again."""
    pf = start_postfix()
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD timeout 3"))
    stopped = [pf.master_pid, *pf._children(pf.master_pid)]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        code, text = send(d, "alice@client.example", ["one@test.example"], message("hung", "<hung-1@client.example>"))
        elapsed = time.monotonic() - t0
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    assert (code, text) == (451, "4.3.0 Unable to queue message: Postfix's cleanup service did not answer")
    # Our own reply, not the hook runner's: it came before the 3 s deadline (with slack for a loaded machine).
    assert 2.0 < elapsed < 5.0, elapsed
    time.sleep(1)  # cleanup now reads the abandoned connection's end and discards its file
    assert pf.queue_entries() == {}


def test_cleanup_sockets_and_postfixqueue_choose_the_socket(start_daemon, start_postfix, tmp_path, monkeypatch):
    port = free_port()
    pf = start_postfix(inet_port=port)
    dead = f"{tmp_path}/dead/cleanup"
    # cleanup_sockets wins over the plugin's argument; its first line is dead, the TCP one takes it.
    d = start_daemon(daemon_config(f"queue/postfix-queue {dead} FLAG_HOLD", cleanup_sockets=f"{dead}\n127.0.0.1:{port}"))
    code, text = send(d, "alice@client.example", ["one@test.example"], message("tcp", "<tcp-1@client.example>"))
    assert code == 250, text
    tcp_qid = QUEUED_RE.match(text).group(2)
    # POSTFIXQUEUE wins over both.
    monkeypatch.setenv("POSTFIXQUEUE", str(cleanup_socket(pf)))
    d2 = start_daemon(daemon_config(f"queue/postfix-queue {dead} FLAG_HOLD", cleanup_sockets=dead))
    code, text = send(d2, "alice@client.example", ["two@test.example"], message("env", "<env-1@client.example>"))
    assert code == 250, text
    env_qid = QUEUED_RE.match(text).group(2)
    entries = pf.queue_entries()
    assert set(entries) == {tcp_qid, env_qid}
    assert [r["address"] for r in entries[env_qid]["recipients"]] == ["two@test.example"]


def test_unknown_flag_stops_the_load(qpsmtpd_bin, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "plugins").write_text("queue/postfix-queue FLAG_HOLD FLAG_NO_SUCH\n")
    p = subprocess.run([qpsmtpd_bin, "check-config", "--config", str(config)], capture_output=True, timeout=30)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert "unknown cleanup flag 'FLAG_NO_SUCH'" in out, out


CRASH_CLIENTS = 8
CRASH_AFTER = 300
BIG = 8 * 1024 * 1024


def test_kill_9_while_streaming_loses_no_acknowledged_message(start_daemon, start_postfix):
    """Seven clients stream ~30 KB messages and one streams 8 MB messages into Postfix through
    us. Once 300 are acknowledged and cleanup has logged the header of a big message we have not
    acknowledged yet (so we are streaming its body into Postfix right now), our daemon gets
    SIGKILL. Every message a client got 250 for must be in Postfix's queue, under the queue id we
    named, with its own recipient; the cut conversation must have left nothing; anything else
    Postfix holds is at most one message per client, committed as we died."""
    pf = start_postfix(size_limit=4 * BIG)
    d = start_daemon(daemon_config(f"queue/postfix-queue {cleanup_socket(pf)} FLAG_HOLD"))
    load = CrashLoad(d, lambda text: QUEUED_RE.match(text).group(2), small_clients=CRASH_CLIENTS - 1,
                     big_clients=1, small_body=filler(28_000), big_body=filler(BIG))
    load.run_until_acknowledged(CRASH_AFTER, timeout=40)
    load.wait_big_in_flight(pf, at_least=1, timeout=30)
    elapsed = load.kill_daemon()
    acked = load.acknowledged_now()
    time.sleep(1)  # cleanup processes finish the conversations cut off by the kill
    entries = pf.queue_entries()
    recipient_of = {qid: [r["address"] for r in e["recipients"]] for qid, e in entries.items()}
    missing = {n: qid for n, qid in acked.items() if qid not in entries}
    assert not missing, f"acknowledged but not in Postfix's queue: {missing}"
    wrong = {n: qid for n, qid in acked.items() if recipient_of[qid] != [recipient(n)]}
    assert not wrong, wrong
    extra = set(entries) - set(acked.values())
    assert len(extra) <= CRASH_CLIENTS, (len(extra), extra)
    assert all(e["queue_name"] == "hold" for e in entries.values())
    # Conversations cleanup saw start (it logged the header) and never saw end: nothing of them
    # is queued. At least the big one we killed in the middle of.
    cut = {qid: n for qid, n in started_in_postfix(pf).items() if qid not in entries}
    assert any(n in load.big_numbers for n in cut.values()), (cut, load.big_numbers)
    print(f"crash test: {len(acked)} acknowledged ({len(load.big_numbers & set(acked))} of 8 MB), {len(extra)} more "
          f"committed unacknowledged, {len(cut)} cut off mid-stream and discarded by Postfix; "
          f"{elapsed:.1f} s until the clients saw the kill")
