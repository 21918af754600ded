"""Hostile DNS servers for the live tests, each in a thread on a loopback address and a
port (UDP and TCP alike) that the test chooses or gets free:

- SilentDNSServer: reads every query, never answers (a dead server behind a firewall
  that drops); TCP connections are accepted and left hanging.
- GarbageDNSServer: answers every query with things a resolver must ignore: random bytes,
  a well-formed "listed" answer with the wrong id, one with the right id but another
  question, the query echoed back without the QR bit, a reply cut off mid-record, and
  (over UDP) a perfect "listed" answer sent from another address (SPOOF_FROM). Never a
  usable answer, so to a correct resolver it is as dead as the silent one.
- TruncatingDNSServer: over UDP, the query's header with TC set and no answers; over TCP,
  tcp="close" closes at once, tcp="truncate" answers TC again.

Each counts what it got (`queries`, `udp_queries`, `tcp_queries`, `tcp_connections`), so a
test can check that the resolver remembers a dead server instead of asking it again in
every session:

    with SilentDNSServer() as dead:
        d = start_daemon(config={"dns_servers": dead.server_line, "dns_timeout": "2", ...})
        ...
        assert dead.queries <= 6
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading

from dns_helpers import free_port
from dns_wire import (FLAG_QR, FLAG_RD, FLAG_TC, TYPES, a_rdata, build_reply, parse_header, parse_question,
                      txt_rdata)


class FakeDNSServer:
    """The common part: sockets, the thread, the counters. Subclasses say what to send."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port(host)
        self.udp_queries = 0
        self.tcp_queries = 0
        self.tcp_connections = 0
        self.questions: list[tuple[str, int]] = []   # (name, type) of every parseable query
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what to answer: lists of raw DNS messages (without the TCP length prefix)
    def udp_replies(self, query: bytes) -> list[bytes]:
        return []

    def tcp_replies(self, query: bytes) -> list[bytes] | None:
        """None closes the connection."""
        return []

    # -- counters
    @property
    def queries(self) -> int:
        with self._lock:
            return self.udp_queries + self.tcp_queries

    @property
    def server_line(self) -> str:
        return f"{self.host}:{self.port}"

    def _count(self, transport: str, query: bytes) -> None:
        with self._lock:
            if transport == "udp":
                self.udp_queries += 1
            else:
                self.tcp_queries += 1
            try:
                name, qtype, _ = parse_question(query)
                self.questions.append((name, qtype))
            except (ValueError, IndexError, struct.error):
                pass

    # -- life cycle
    def start(self) -> "FakeDNSServer":
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((self.host, self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.host, self.port))
        self.tcp.listen(64)
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.udp.close()
        self.tcp.close()

    def __enter__(self) -> "FakeDNSServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        conns: dict[socket.socket, bytes] = {}
        while not self._stop.is_set():
            readable, _, _ = select.select([self.udp, self.tcp, *conns], [], [], 0.1)
            for s in readable:
                try:
                    self._serve(s, conns)
                except OSError:   # one peer's trouble must not stop the server
                    pass
        for c in conns:
            c.close()

    def _serve(self, s: socket.socket, conns: dict[socket.socket, bytes]) -> None:
        if s is self.udp:
            query, peer = self.udp.recvfrom(65535)
            self._count("udp", query)
            self.answer_udp(query, peer)
        elif s is self.tcp:
            conn, _ = self.tcp.accept()
            with self._lock:
                self.tcp_connections += 1
            conns[conn] = b""
        else:
            self._read_tcp(s, conns)

    def answer_udp(self, query: bytes, peer) -> None:
        for reply in self._safely(self.udp_replies, query):
            self.udp.sendto(reply, peer)

    def _read_tcp(self, conn: socket.socket, conns: dict[socket.socket, bytes]) -> None:
        try:
            chunk = conn.recv(65535)
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn, conns)
            return
        buf = conns[conn] + chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            query, buf = buf[2:2 + n], buf[2 + n:]
            self._count("tcp", query)
            replies = self._safely(self.tcp_replies, query)
            if replies is None:
                self._drop(conn, conns)
                return
            try:
                for reply in replies:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                self._drop(conn, conns)
                return
        conns[conn] = buf

    @staticmethod
    def _drop(conn: socket.socket, conns: dict[socket.socket, bytes]) -> None:
        conns.pop(conn, None)
        conn.close()

    @staticmethod
    def _safely(fn, query):
        """A query we cannot parse gets no reply rather than killing the thread."""
        try:
            return fn(query)
        except (ValueError, IndexError, struct.error):
            return []


class SilentDNSServer(FakeDNSServer):
    """Never answers, over UDP or TCP."""


class GarbageDNSServer(FakeDNSServer):
    """Answers everything with replies a resolver must drop; never with a usable one. Over
    UDP also a perfect "listed" answer, but sent from another address (SPOOF_FROM), as an
    off-path attacker would: only the server asked may answer."""

    SPOOF_FROM = "127.54.0.1"

    def start(self) -> "FakeDNSServer":
        self.spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.spoofer.bind((self.SPOOF_FROM, 0))
        return super().start()

    def stop(self) -> None:
        super().stop()
        self.spoofer.close()

    def replies(self, query: bytes) -> list[bytes]:
        header = parse_header(query)
        name, qtype, _ = parse_question(query)
        listed = [(name, TYPES["A"], a_rdata("127.0.0.2")), (name, TYPES["TXT"], txt_rdata("spoofed listing"))]
        cut = build_reply(query, answers=listed)
        return [
            os.urandom(7),                                     # shorter than a header
            os.urandom(64),                                    # random noise
            build_reply(query, qid=header.id ^ 0x5A5A, answers=listed),        # wrong id
            build_reply(query, question=("other.invalid", qtype),               # right id, other question
                        answers=[("other.invalid", TYPES["A"], a_rdata("127.0.0.2"))]),
            build_reply(query, flags=FLAG_RD, answers=listed),                 # not a response (QR clear)
            cut[:len(cut) - 5],                                # right id and question, cut mid-record
        ]

    def answer_udp(self, query: bytes, peer) -> None:
        try:
            name, qtype, _ = parse_question(query)
            answer = (name, qtype, a_rdata("127.0.0.2") if qtype == TYPES["A"] else txt_rdata("spoofed listing"))
            self.spoofer.sendto(build_reply(query, answers=[answer]), peer)
        except (ValueError, IndexError, struct.error):
            pass
        super().answer_udp(query, peer)

    def udp_replies(self, query: bytes) -> list[bytes]:
        return self.replies(query)

    def tcp_replies(self, query: bytes) -> list[bytes] | None:
        return self.replies(query)


class TruncatingDNSServer(FakeDNSServer):
    """TC over UDP, always; over TCP either close (tcp="close") or TC again (tcp="truncate")."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, tcp: str = "close"):
        assert tcp in ("close", "truncate"), tcp
        super().__init__(host, port)
        self.tcp_mode = tcp

    @staticmethod
    def truncated(query: bytes) -> bytes:
        return build_reply(query, flags=FLAG_QR | FLAG_RD | FLAG_TC)

    def udp_replies(self, query: bytes) -> list[bytes]:
        return [self.truncated(query)]

    def tcp_replies(self, query: bytes) -> list[bytes] | None:
        return None if self.tcp_mode == "close" else [self.truncated(query)]
