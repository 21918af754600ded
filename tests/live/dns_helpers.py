"""A real DNS server for the live tests: Debian's unbound, answering only from zones the
test writes, on a loopback address and a free port, with everything under the test's
temp dir.

    def test_x(dns_server, start_daemon):
        dns = dns_server([dnsbl_listing("bl.test", "127.0.0.2", txt="spam source"),
                          a("mx.good.test", "127.0.0.1"), mx("good.test", 10, "mx.good.test")])
        d = start_daemon(config={**dns.daemon_config(timeout=3), "plugins": ...})
        dns.address, dns.port   # where it listens, over UDP and TCP

`dns_server(records, ...)` is a factory fixture: each call starts one unbound (a fresh
127.53.x.y address) and every one is stopped at teardown. A record is one unbound
directive (the helpers below write them). `local-zone: "." static` makes unbound the
authority for the whole tree: any name the test did not write is NXDOMAIN at once, and
nothing is ever asked of the internet (test_dns_server.py asserts both). unbound truncates
UDP answers longer than the client's EDNS0 size, so BIG_TXT (over 1232 octets) is only
whole over TCP.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from dns_wire import ask_udp

UNBOUND = "/usr/sbin/unbound"
READY_NAME = "ready.dns-helper.test"
STARTUP_TIMEOUT = 10.0

# The name whose TXT answer is too large for a 1232-octet UDP reply (six strings of 240).
BIG_TXT_NAME = "big.txt.test"
BIG_TXT_STRINGS = [f"part{i}-" + "x" * 233 for i in range(6)]


# -- records: each is one line of unbound.conf ----------------------------------

def _data(rr: str) -> str:
    assert "'" not in rr, f"single quote in record {rr!r}"
    return f"local-data: '{rr}'"


def a(name: str, ip: str) -> str:
    return _data(f"{name}. A {ip}")


def aaaa(name: str, ip: str) -> str:
    return _data(f"{name}. AAAA {ip}")


def mx(name: str, preference: int, exchange: str) -> str:
    return _data(f"{name}. MX {preference} {exchange}.")


def null_mx(name: str) -> str:
    """RFC 7505: a single MX with preference 0 and the root as exchange."""
    return _data(f"{name}. MX 0 .")


def txt(name: str, *strings: str) -> str:
    quoted = " ".join('"' + s.replace('"', '\\"') + '"' for s in strings)
    return _data(f"{name}. TXT {quoted}")


def cname(name: str, target: str) -> str:
    return _data(f"{name}. CNAME {target}.")


def ptr(ip: str, name: str) -> str:
    """The reverse record (in-addr.arpa or ip6.arpa) of `ip`."""
    return f"local-data-ptr: '{ip} {name}'"


def reversed_ip(ip: str) -> str:
    """1.2.3.4 -> 4.3.2.1, the DNSBL query prefix."""
    return ".".join(reversed(ip.split(".")))


def dnsbl_listing(zone: str, ip: str, answer: str = "127.0.0.2", reason: str | None = None) -> list[str]:
    """`ip` listed in the DNSBL `zone`: an A record, and a TXT reason when given."""
    name = f"{reversed_ip(ip)}.{zone}"
    return [a(name, answer)] + ([txt(name, reason)] if reason is not None else [])


def big_txt() -> str:
    return txt(BIG_TXT_NAME, *BIG_TXT_STRINGS)


# -- the server -------------------------------------------------------------------

_next_host = itertools.count(1)


def free_port(host: str) -> int:
    """A port free for both UDP and TCP on `host`."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for both UDP and TCP on {host}")


class DNSServer:
    """One unbound process; use as a context manager or call start()/stop()."""

    def __init__(self, base: Path, records: list[str] | list[list[str]] = (), host: str | None = None,
                 port: int | None = None, include_big_txt: bool = True):
        if not os.access(UNBOUND, os.X_OK):
            pytest.fail(f"{UNBOUND} is not installed (apt-get install unbound; .ci/run does)")
        n = next(_next_host)
        # 127.53.0.0/16: away from the 127.0.0.x client addresses the tests connect from.
        self.address = host or str(ipaddress.IPv4Address("127.53.0.0") + n)
        self.port = port or free_port(self.address)
        self.dir = base / f"unbound-{n}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.records = flatten(records) + ([big_txt()] if include_big_txt else [])
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "unbound.log"

    @property
    def server_line(self) -> str:
        """This server as a line of the daemon's `dns_servers` file."""
        return f"{self.address}:{self.port}"

    def daemon_config(self, timeout: int | None = None) -> dict[str, str]:
        """The daemon's config files that send every lookup here."""
        files = {"dns_servers": self.server_line}
        if timeout is not None:
            files["dns_timeout"] = str(timeout)
        return files

    def config_text(self) -> str:
        d = self.dir
        lines = [
            "server:",
            f"  interface: {self.address}",
            f"  port: {self.port}",
            "  do-ip4: yes", "  do-ip6: no", "  do-udp: yes", "  do-tcp: yes",
            '  chroot: ""', '  username: ""', f'  directory: "{d}"',
            f'  pidfile: "{d}/unbound.pid"', f'  logfile: "{d}/unbound.log"',
            "  use-syslog: no", "  do-daemonize: no", "  verbosity: 1",
            # No DNSSEC validator: it would want a root trust anchor, and we answer locally.
            '  module-config: "iterator"',
            "  access-control: 127.0.0.0/8 allow",
            # Authority for the whole tree: never recurse, NXDOMAIN for whatever is not below.
            '  local-zone: "." static',
            # unbound's built-in 127.in-addr.arpa zone would shadow the tests' PTR records.
            '  local-zone: "127.in-addr.arpa." nodefault',
            f"  {a(READY_NAME, '127.0.0.1')}",
        ]
        lines += [f"  {r}" for r in self.records]
        lines += ["remote-control:", "  control-enable: no", ""]
        return "\n".join(lines)

    def start(self) -> "DNSServer":
        conf = self.dir / "unbound.conf"
        conf.write_text(self.config_text())
        check = subprocess.run([shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf", str(conf)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            pytest.fail(f"unbound-checkconf rejected {conf}:\n{check.stdout}{check.stderr}")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", str(conf)], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "stderr.log", "wb"))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"unbound exited with {self.proc.returncode} at start-up:\n{self.log_tail()}")
            try:
                ask_udp(self.address, self.port, READY_NAME, timeout=0.2)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"unbound did not answer on {self.server_line} within {STARTUP_TIMEOUT}s:\n"
                                f"{self.log_tail()}")

    def stop(self) -> str:
        """Stops unbound (SIGTERM, by PID) and returns its log, with the closing statistics."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        return self.log_tail(200)

    def log_tail(self, n: int = 40) -> str:
        text = ""
        for name in ("unbound.log", "stderr.log"):
            p = self.dir / name
            if p.exists():
                text += p.read_text(errors="replace")
        return "\n".join(text.splitlines()[-n:])

    def __enter__(self) -> "DNSServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def flatten(records) -> list[str]:
    out: list[str] = []
    for r in records:
        out.extend([r] if isinstance(r, str) else flatten(r))
    return out


@pytest.fixture
def dns_server(tmp_path):
    """Factory: dns_server(records, **kw) -> a started DNSServer; all stopped at teardown."""
    started: list[DNSServer] = []

    def start(records=(), **kw) -> DNSServer:
        s = DNSServer(tmp_path / "dns", records, **kw).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
