"""Just enough of the DNS wire format (RFC 1035, EDNS0 of RFC 6891) for the live tests:
build a query, read a reply's header and question, build the replies the hostile fake
servers send, and ask a server one question over UDP or TCP.

Deliberately independent of the daemon's own codec, so a shared misreading of the RFC
cannot hide in both.
"""

from __future__ import annotations

import random
import socket
import struct
from dataclasses import dataclass

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "OPT": 41}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
FLAG_QR, FLAG_AA, FLAG_TC, FLAG_RD, FLAG_RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode()
            assert len(raw) <= 63, f"label over 63 octets: {label!r}"
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def decode_name(msg: bytes, offset: int) -> tuple[str, int]:
    """The name at `offset` (following compression pointers) and the offset after it."""
    labels: list[str] = []
    end = None
    for _ in range(128):  # bounded: a pointer loop must not hang a test
        length = msg[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | msg[offset + 1]
            continue
        if length == 0:
            return ".".join(labels).lower(), (end if end is not None else offset + 1)
        labels.append(msg[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise ValueError("compression pointer loop")


def opt_record(payload: int) -> bytes:
    """The EDNS0 OPT pseudo-record: root name, type 41, class = UDP payload size."""
    return b"\x00" + struct.pack("!HHIH", TYPES["OPT"], payload, 0, 0)


def build_query(name: str, qtype: str = "A", qid: int | None = None, edns: int | None = 1232) -> bytes:
    qid = random.randrange(0x10000) if qid is None else qid
    header = struct.pack("!HHHHHH", qid, FLAG_RD, 1, 0, 0, 1 if edns else 0)
    question = encode_name(name) + struct.pack("!HH", TYPES[qtype], 1)
    return header + question + (opt_record(edns) if edns else b"")


@dataclass
class Header:
    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_QR)

    @property
    def truncated(self) -> bool:
        return bool(self.flags & FLAG_TC)

    @property
    def rcode(self) -> str:
        return RCODES.get(self.flags & 0xF, str(self.flags & 0xF))


def parse_header(msg: bytes) -> Header:
    if len(msg) < 12:
        raise ValueError(f"DNS message of {len(msg)} octets has no header")
    return Header(*struct.unpack("!HHHHHH", msg[:12]))


def parse_question(msg: bytes) -> tuple[str, int, int]:
    """(name, type number, offset after the question) of the first question."""
    name, offset = decode_name(msg, 12)
    qtype, _qclass = struct.unpack("!HH", msg[offset:offset + 4])
    return name, qtype, offset + 4


def answers(msg: bytes) -> list[tuple[str, int, bytes]]:
    """(owner, type number, rdata) of every answer record; ValueError if the message ends early."""
    header = parse_header(msg)
    _, _, offset = parse_question(msg)
    out = []
    for _ in range(header.ancount):
        name, offset = decode_name(msg, offset)
        if offset + 10 > len(msg):
            raise ValueError("record header cut off")
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[offset:offset + 10])
        if offset + 10 + rdlen > len(msg):
            raise ValueError("record data cut off")
        out.append((name, rtype, msg[offset + 10:offset + 10 + rdlen]))
        offset += 10 + rdlen
    return out


def txt_strings(msg: bytes) -> list[str]:
    """The character-strings of every TXT record in the answer section, in order."""
    out: list[str] = []
    for _, rtype, rdata in answers(msg):
        i = 0
        while rtype == TYPES["TXT"] and i < len(rdata):
            out.append(rdata[i + 1:i + 1 + rdata[i]].decode("utf-8", "replace"))
            i += 1 + rdata[i]
    return out


def build_reply(query: bytes, *, qid: int | None = None, question: tuple[str, int] | None = None,
                answers: list[tuple[str, int, bytes]] = (), flags: int = FLAG_QR | FLAG_RD | FLAG_RA,
                rcode: int = 0) -> bytes:
    """A reply to `query`: its id and question unless overridden, with the given answer
    records (owner name, type number, rdata)."""
    header = parse_header(query)
    qname, qtype, _ = parse_question(query)
    if question is not None:
        qname, qtype = question
    out = struct.pack("!HHHHHH", header.id if qid is None else qid, flags | rcode, 1, len(answers), 0, 0)
    out += encode_name(qname) + struct.pack("!HH", qtype, 1)
    for owner, rtype, rdata in answers:
        out += encode_name(owner) + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata
    return out


def a_rdata(ip: str) -> bytes:
    return socket.inet_aton(ip)


def txt_rdata(*strings: str) -> bytes:
    return b"".join(bytes([len(s.encode())]) + s.encode() for s in strings)


# -- asking a server -----------------------------------------------------------

def ask_udp(host: str, port: int, name: str, qtype: str = "A", edns: int | None = 1232,
            timeout: float = 2.0) -> bytes:
    """One query over UDP; the first reply whose id matches (others are dropped)."""
    query = build_query(name, qtype, edns=edns)
    qid = parse_header(query).id
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, (host, port))
        while True:
            reply, _ = s.recvfrom(65535)
            if len(reply) >= 12 and parse_header(reply).id == qid:
                return reply


def ask_tcp(host: str, port: int, name: str, qtype: str = "A", timeout: float = 2.0) -> bytes:
    """One query over TCP (two-octet length prefix, RFC 1035 §4.2.2); returns the reply."""
    query = build_query(name, qtype)
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(query)) + query)
        length = struct.unpack("!H", recv_exact(s, 2))[0]
        return recv_exact(s, length)


def recv_exact(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} octets")
        data += chunk
    return data
