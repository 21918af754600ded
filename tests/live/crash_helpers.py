"""What the kill -9 tests share (test_postfix_queue.py into Postfix's cleanup service,
test_forward_crash.py into Postfix's smtpd): concurrent smtplib clients that send numbered
messages through our daemon until it dies, recording which ones got 250, and what Postfix's log
says about each numbered message.

Message n has the recipient m<n>@test.example and the Message-Id <crash-n@client.example>:
Postfix's cleanup logs "<queue id>: message-id=<crash-n@client.example>" as soon as it has the
header, which tells a test that n is being streamed into Postfix right now (when we have not
acknowledged it yet) and which queue file holds which message.
"""
from __future__ import annotations

import os
import re
import signal
import smtplib
import threading
import time
from typing import Callable

from postfix_helpers import PostfixInstance

STARTED_RE = re.compile(r": ([0-9A-Za-z]+): message-id=<crash-(\d+)@client\.example>")


def filler(size: int) -> str:
    """A body of about `size` octets in numbered 70-octet lines."""
    block = "".join(f"line {n:04d} " + "z" * 60 + "\n" for n in range(400))
    return block * max(1, size // len(block))


def crash_message(n: int, body: str) -> bytes:
    """Message n as CRLF text, ready for smtplib's data() (which dot-stuffs and ends it)."""
    return (f"From: Crash <crash@client.example>\nTo: <m{n}@test.example>\nSubject: crash {n}\n"
            f"Date: Mon, 30 Nov 2026 12:00:00 +0000\nMessage-Id: <crash-{n}@client.example>\n\n"
            f"{body}").encode().replace(b"\n", b"\r\n")


def recipient(n: int) -> str:
    return f"m{n}@test.example"


class CrashLoad:
    """`small_clients` + `big_clients` smtplib sessions sending one numbered message after the
    other through daemon `d` until a reply is not 250 or the connection dies. `queue_id(text)`
    takes the text of a 250 and returns the queue id it names."""

    def __init__(self, d, queue_id: Callable[[str], str], small_clients: int, big_clients: int,
                 small_body: str, big_body: str) -> None:
        self.d = d
        self.queue_id = queue_id
        self.acknowledged: dict[int, str] = {}   # message number -> queue id from our 250
        self.big_numbers: set[int] = set()
        self.lock = threading.Lock()
        self._counter = iter(range(1_000_000))
        self._enough = threading.Event()
        self._wanted = 0
        self.threads = [threading.Thread(target=self._client, args=(small_body, False), daemon=True)
                        for _ in range(small_clients)]
        self.threads += [threading.Thread(target=self._client, args=(big_body, True), daemon=True)
                         for _ in range(big_clients)]
        self.started_at = 0.0

    @property
    def clients(self) -> int:
        return len(self.threads)

    def _client(self, body: str, is_big: bool) -> None:
        try:
            with smtplib.SMTP(self.d.host, self.d.port, timeout=60) as s:
                s.ehlo("crash.example")
                while True:
                    with self.lock:
                        n = next(self._counter)
                        if is_big:
                            self.big_numbers.add(n)
                    s.mail("crash@client.example")
                    s.rcpt(recipient(n))
                    code, text = s.data(crash_message(n, body))
                    if code != 250:
                        return
                    qid = self.queue_id(text.decode())
                    with self.lock:
                        self.acknowledged[n] = qid
                        if len(self.acknowledged) >= self._wanted:
                            self._enough.set()
        except (OSError, smtplib.SMTPException):
            return  # the daemon died under us

    def run_until_acknowledged(self, count: int, timeout: float) -> None:
        """Start the clients; return once `count` messages got 250 (fails after `timeout` s)."""
        self._wanted = count
        self.started_at = time.monotonic()
        for t in self.threads:
            t.start()
        assert self._enough.wait(timeout), \
            f"only {len(self.acknowledged)} messages acknowledged in {timeout} s\n{self.d.log_tail()}"

    def wait_big_in_flight(self, pf: PostfixInstance, at_least: int, timeout: float) -> set[int]:
        """Wait until at least `at_least` big messages are being streamed into Postfix at once:
        cleanup has their header (logged their message-id) and we have not answered 250 yet."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                pending = self.big_numbers - set(self.acknowledged)
            in_flight = pending & set(started_in_postfix(pf).values())
            if len(in_flight) >= at_least:
                return in_flight
            assert time.monotonic() < deadline, \
                f"never {at_least} big messages in flight at once in {timeout} s\n{pf.log()[-2000:]}"
            time.sleep(0.002)

    def kill_daemon(self) -> float:
        """SIGKILL our daemon, wait for every client to notice; seconds since the clients started."""
        os.kill(self.d.pid, signal.SIGKILL)
        self.d.proc.wait(timeout=10)
        self.d.stopped = True  # dead on purpose: the fixture's teardown must not expect exit 0
        for t in self.threads:
            t.join(timeout=35)
        assert not any(t.is_alive() for t in self.threads), "a client still runs 35 s after the kill"
        return time.monotonic() - self.started_at

    def acknowledged_now(self) -> dict[int, str]:
        with self.lock:
            return dict(self.acknowledged)


def started_in_postfix(pf: PostfixInstance) -> dict[str, int]:
    """Queue id -> message number, for every numbered message whose header cleanup has seen
    (committed or not)."""
    return {qid: int(n) for qid, n in STARTED_RE.findall(pf.log())}
