"""The DNS test servers themselves (dns_helpers.py, dns_fakes.py): unbound answers the
tests' zones and nothing else, never asks the internet, truncates a large TXT answer over
UDP; the fake servers misbehave exactly as advertised. No daemon here: if these fail, the
DNS plugin tests' failures say nothing about the daemon."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import time

import pytest

from dns_fakes import GarbageDNSServer, SilentDNSServer, TruncatingDNSServer
from dns_helpers import (BIG_TXT_NAME, BIG_TXT_STRINGS, a, dnsbl_listing, dns_server, mx, null_mx,  # noqa: F401
                         ptr)
from dns_wire import TYPES, answers, ask_tcp, ask_udp, build_query, parse_header, parse_question, txt_strings


def dig(dns, *args: str) -> str:
    path = shutil.which("dig")
    if path is None:
        pytest.fail("dig is not installed (apt-get install bind9-dnsutils; .ci/run does)")
    r = subprocess.run([path, f"@{dns.address}", "-p", str(dns.port), "+time=2", "+tries=1", *args],
                       capture_output=True, text=True, timeout=10)
    return r.stdout + r.stderr


def test_unbound_answers_the_test_zones(dns_server):
    dns = dns_server([dnsbl_listing("bl.test", "127.0.0.2", reason="listed for testing"),
                      mx("good.test", 10, "mx.good.test"), a("mx.good.test", "127.0.0.1"),
                      null_mx("nullmx.test"), ptr("127.0.0.9", "host9.fcrdns.test")])
    assert txt_strings(ask_udp(dns.address, dns.port, "2.0.0.127.bl.test", "TXT")) == ["listed for testing"]
    reply = ask_udp(dns.address, dns.port, "3.0.0.127.bl.test", "A")
    assert parse_header(reply).rcode == "NXDOMAIN"
    assert "host9.fcrdns.test." in dig(dns, "+short", "-x", "127.0.0.9")
    assert "10 mx.good.test." in dig(dns, "+short", "good.test", "MX")
    assert "0 ." in dig(dns, "+short", "nullmx.test", "MX")


@pytest.mark.parametrize("name", ["www.debian.org", "example.com", "1.0.0.127.in-addr.arpa", "other.test"])
def test_unbound_never_recurses(dns_server, name):
    dns = dns_server([a("only.test", "127.0.0.1")])
    t0 = time.monotonic()
    reply = ask_udp(dns.address, dns.port, name, "A", timeout=2)
    elapsed = time.monotonic() - t0
    assert parse_header(reply).rcode in ("NXDOMAIN", "REFUSED"), f"{name}: {parse_header(reply)}"
    assert elapsed < 0.5, f"{name} took {elapsed:.2f}s: unbound went looking elsewhere"
    log = dns.stop()
    # unbound's closing statistics: every answer came from local data, none from recursion.
    assert " 0 recursions" in log, log


def test_large_txt_is_truncated_over_udp_and_whole_over_tcp(dns_server):
    dns = dns_server([])
    out = dig(dns, "+bufsize=1232", "+notcp", "+ignore", BIG_TXT_NAME, "TXT")
    assert " tc" in out.split("flags:")[1].split(";")[0], out
    out = dig(dns, "+bufsize=1232", BIG_TXT_NAME, "TXT")   # dig retries over TCP on TC
    assert "part5-" in out and "MSG SIZE  rcvd: 1" in out, out

    udp = ask_udp(dns.address, dns.port, BIG_TXT_NAME, "TXT", edns=1232)
    assert parse_header(udp).truncated and len(udp) <= 1232
    tcp = ask_tcp(dns.address, dns.port, BIG_TXT_NAME, "TXT")
    assert not parse_header(tcp).truncated
    assert len(tcp) > 1232
    assert txt_strings(tcp) == BIG_TXT_STRINGS


def test_silent_server_counts_and_never_answers():
    with SilentDNSServer() as dead:
        for _ in range(3):
            with pytest.raises(socket.timeout):
                ask_udp(dead.host, dead.port, "x.test", timeout=0.3)
        with pytest.raises(socket.timeout):
            ask_tcp(dead.host, dead.port, "y.test", timeout=0.5)
        time.sleep(0.2)
        assert (dead.udp_queries, dead.tcp_queries, dead.tcp_connections) == (3, 1, 1)
        assert ("x.test", TYPES["A"]) in dead.questions


def test_garbage_server_sends_nothing_usable():
    with GarbageDNSServer() as bad:
        query = build_query("listed.test", "A")
        qid = parse_header(query).id
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            s.sendto(query, (bad.host, bad.port))
            got = []
            try:
                while True:
                    got.append(s.recvfrom(65535))
            except socket.timeout:
                pass
        from_server = [m for m, peer in got if peer == (bad.host, bad.port)]
        spoofed = [m for m, peer in got if peer[0] == GarbageDNSServer.SPOOF_FROM]
        assert len(from_server) == 6 and len(spoofed) == 1
        assert usable(spoofed[0], qid, ("listed.test", TYPES["A"]))
        for m in from_server:                                    # none usable from the right one
            assert not usable(m, qid, ("listed.test", TYPES["A"])), m
        assert bad.udp_queries == 1


def usable(msg: bytes, qid: int, question: tuple[str, int]) -> bool:
    """What a resolver may accept: a whole response to this id and this question."""
    try:
        h = parse_header(msg)
        return (h.id == qid and h.is_response and parse_question(msg)[:2] == question
                and len(answers(msg)) > 0)
    except (ValueError, IndexError, struct.error):
        return False


@pytest.mark.parametrize("tcp_mode", ["close", "truncate"])
def test_truncating_server(tcp_mode):
    with TruncatingDNSServer(tcp=tcp_mode) as trunc:
        reply = ask_udp(trunc.host, trunc.port, "big.test", "TXT")
        h = parse_header(reply)
        assert h.truncated and h.is_response and h.ancount == 0
        if tcp_mode == "close":
            with pytest.raises(ConnectionError):
                ask_tcp(trunc.host, trunc.port, "big.test", "TXT")
        else:
            assert parse_header(ask_tcp(trunc.host, trunc.port, "big.test", "TXT")).truncated
        time.sleep(0.2)
        assert (trunc.udp_queries, trunc.tcp_queries) == (1, 1)
