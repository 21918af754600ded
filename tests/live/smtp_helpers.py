"""Shared helpers for the live tests: a raw SMTP client that reads whole
multi-line replies, reply assertions, and Maildir readers.

The raw client is deliberately dumb: it sends exactly the bytes it is given
(no dot-stuffing, no line-end repair), so hostile input reaches the daemon
unchanged.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

CRLF = b"\r\n"
ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")


@dataclass
class Reply:
    code: int
    lines: list[str] = field(default_factory=list)  # text after "NNN-" / "NNN "

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def first(self) -> str:
        return self.lines[0] if self.lines else ""

    @property
    def enhanced(self) -> str | None:
        m = ENHANCED_RE.match(self.first)
        return m.group(0).strip() if m else None

    def __str__(self) -> str:
        return " | ".join(f"{self.code} {line}" for line in self.lines) or str(self.code)


class ConnectionClosed(AssertionError):
    """The daemon closed the connection while a reply was expected."""


class SMTPClient:
    """A raw SMTP client over one TCP connection."""

    def __init__(self, host: str, port: int, timeout: float = 15.0,
                 source: tuple[str, int] | None = None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=source)
        self.buf = b""
        self.timeout = timeout
        self.transcript: list[str] = []

    # -- context manager -------------------------------------------------
    def __enter__(self) -> "SMTPClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending ---------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.transcript.append(f">> {data[:200]!r}{'...' if len(data) > 200 else ''}")
        self.sock.sendall(data)

    def cmd(self, line: str | bytes, timeout: float | None = None) -> Reply:
        """Send one command line (CRLF added) and read its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + CRLF)
        return self.reply(timeout)

    # -- receiving -------------------------------------------------------
    def _fill(self, timeout: float | None) -> bool:
        """Read more bytes; False on EOF."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_line(self, timeout: float | None = None) -> bytes:
        while b"\n" not in self.buf:
            if not self._fill(timeout):
                raise ConnectionClosed(
                    f"connection closed while waiting for a reply line (pending bytes {self.buf!r}); "
                    f"transcript tail: {self.transcript[-6:]}")
        line, self.buf = self.buf.split(b"\n", 1)
        line += b"\n"
        assert line.endswith(b"\r\n"), f"reply line not terminated by CRLF: {line!r}"
        return line[:-2]

    def reply(self, timeout: float | None = None) -> Reply:
        """Read one complete (possibly multi-line) reply."""
        lines: list[str] = []
        code = None
        while True:
            raw = self.read_line(timeout)
            text = raw.decode("utf-8", "replace")
            m = re.match(r"^(\d{3})([ -])(.*)$", text) or re.match(r"^(\d{3})()$", text)
            assert m, f"malformed reply line: {raw!r}"
            this_code = int(m.group(1))
            if code is None:
                code = this_code
            assert this_code == code, f"reply code changed inside a multi-line reply: {lines} then {text!r}"
            lines.append(m.group(3))
            if m.group(2) != "-":
                break
        r = Reply(code, lines)
        self.transcript.append(f"<< {r}")
        return r

    def replies(self, n: int, timeout: float | None = None) -> list[Reply]:
        return [self.reply(timeout) for _ in range(n)]

    def greeting(self) -> Reply:
        r = self.reply()
        assert r.code == 220, f"expected 220 greeting, got {r}"
        return r

    def ehlo(self, name: str = "client.example") -> Reply:
        r = self.cmd(f"EHLO {name}")
        assert r.code == 250, f"EHLO refused: {r}"
        return r

    def wait_closed(self, timeout: float = 5.0) -> bytes:
        """Read until EOF; return whatever arrived. Fails if still open after timeout."""
        deadline = time.monotonic() + timeout
        data = self.buf
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"connection still open after {timeout}s (got {data!r})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def is_closed(self, timeout: float = 0.5) -> bool:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return chunk == b""

    # -- a whole transaction ---------------------------------------------
    def send_message(self, sender: str, rcpts: list[str], wire_body: bytes) -> Reply:
        """MAIL, RCPT..., DATA, body as given (must already be dot-stuffed and
        end with CRLF), the terminator; return the final reply."""
        expect(self.cmd(f"MAIL FROM:<{sender}>"), 250)
        for rc in rcpts:
            expect(self.cmd(f"RCPT TO:<{rc}>"), 250)
        expect(self.cmd("DATA"), 354)
        self.send(wire_body + b".\r\n")
        return self.reply(timeout=max(self.timeout, 120))

    def send_all(self, sender: str, rcpts: list[str], wire_bodies: list[bytes]) -> float:
        """send_message for each body, one after the other; each must be accepted (250).
        Returns the rate in messages per second, for the throughput measurements."""
        t0 = time.monotonic()
        for body in wire_bodies:
            expect(self.send_message(sender, rcpts, body), 250)
        return len(wire_bodies) / (time.monotonic() - t0)


# -- assertions ----------------------------------------------------------

def expect(reply: Reply, code: int, enhanced: str | None = None, contains: str | None = None) -> Reply:
    """Assert a reply's code, its RFC 3463 enhanced code, and some text."""
    assert reply.code == code, f"expected {code}{' ' + enhanced if enhanced else ''}, got: {reply}"
    if enhanced is not None:
        assert reply.first.startswith(enhanced + " ") or reply.first == enhanced, \
            f"expected enhanced status {enhanced} in reply, got: {reply}"
    if contains is not None:
        assert contains.lower() in reply.text.lower(), f"expected {contains!r} in reply, got: {reply}"
    return reply


def expect_enhanced_class(reply: Reply) -> None:
    """Any 2xx/4xx/5xx reply must start with an enhanced code of the same class."""
    assert reply.enhanced is not None, f"reply lacks an RFC 3463 enhanced status code: {reply}"
    assert reply.enhanced[0] == str(reply.code)[0], f"enhanced code class differs from reply code: {reply}"


def dot_stuff(body_lf_or_crlf: bytes) -> bytes:
    """Turn message text into DATA wire form: CRLF line ends, leading dots doubled.
    Input lines may end in LF or CRLF; the result always ends in CRLF."""
    text = body_lf_or_crlf.replace(b"\r\n", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    out = []
    for line in text.split(b"\n")[:-1]:
        if line.startswith(b"."):
            line = b"." + line
        out.append(line + b"\r\n")
    return b"".join(out)


def make_message(body: bytes, subject: str = "live test", extra_headers: list[str] | None = None) -> bytes:
    """A message as LF text (headers, blank line, body)."""
    hdrs = [f"Subject: {subject}", "From: <s@x.example>", "To: <u@test.example>",
            f"Message-Id: <{time.time_ns()}@x.example>"]
    hdrs += extra_headers or []
    if not body.endswith(b"\n"):
        body += b"\n"
    return ("\n".join(hdrs) + "\n\n").encode() + body


def crlf(text_lf: bytes) -> bytes:
    """LF text to CRLF (smtplib sends bytes as they are, without fixing line ends)."""
    return text_lf.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# -- Maildir -------------------------------------------------------------

def maildir_messages(maildir: Path) -> list[bytes]:
    """The delivered messages in <maildir>/new, oldest first."""
    new = Path(maildir) / "new"
    if not new.is_dir():
        return []
    files = sorted((p for p in new.iterdir() if p.is_file()), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [p.read_bytes() for p in files]


def maildir_files(maildir: Path) -> list[Path]:
    new = Path(maildir) / "new"
    if not new.is_dir():
        return []
    return sorted((p for p in new.iterdir() if p.is_file()), key=lambda p: (p.stat().st_mtime_ns, p.name))


def wait_for_messages(maildir: Path, n: int, timeout: float = 5.0) -> list[bytes]:
    """Wait until exactly n messages are in new/; fail on more, or fewer after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = maildir_messages(maildir)
        assert len(msgs) <= n, f"expected {n} delivered message(s), found {len(msgs)}"
        if len(msgs) == n:
            return msgs
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {n} delivered message(s) in {maildir}/new, found {len(msgs)}")
        time.sleep(0.05)


def split_message(stored: bytes) -> tuple[list[bytes], bytes]:
    """Stored (LF) message → (header lines, unfolded; body bytes after the blank line)."""
    assert b"\r\n" not in stored.split(b"\n\n", 1)[0], "stored header uses CRLF, expected LF"
    head, sep, body = stored.partition(b"\n\n")
    assert sep, "stored message has no header/body separator"
    headers: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1] += b"\n" + line
        else:
            headers.append(line)
    return headers, body


def check_delivered(stored: bytes, sent_lf: bytes) -> list[bytes]:
    """Check the delivery contract for one stored message against the LF form
    of what was sent: Received first (after Return-Path/Delivered-To), the
    client's headers present, the body byte-exact. Returns the header lines."""
    headers, body = split_message(stored)
    sent_head, _, sent_body = sent_lf.partition(b"\n\n")
    assert body == sent_body, (
        f"stored body differs from sent body: {len(body)} vs {len(sent_body)} bytes; "
        f"first difference at {first_difference(body, sent_body)}")
    names = [h.split(b":", 1)[0].lower() for h in headers]
    i = 0
    while i < len(names) and names[i] in (b"return-path", b"delivered-to"):
        i += 1
    assert i < len(headers) and headers[i].startswith(b"Received: from "), \
        f"expected 'Received: from ...' after Return-Path/Delivered-To, headers were: {headers[:5]}"
    for h in sent_head.split(b"\n"):
        assert h in stored, f"client header line missing from stored message: {h!r}"
    return headers


def first_difference(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"offset {i}: stored {a[max(0, i-20):i+20]!r} vs sent {b[max(0, i-20):i+20]!r}"
    return f"offset {min(len(a), len(b))} (one is a prefix of the other)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/{pid}/status")


def env_with(**kw: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(kw)
    return env
