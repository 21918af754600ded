"""The "dns" scenario's world: a private unbound serving three DNSBL zones, an RHSBL zone
and reverse/forward records for the clients, and the plan of who connects from where.

unbound runs with its own config under $BENCH_DIR/dns (no chroot, no daemon, no
remote-control), listens on 127.53.0.1 only, and is the authority for the whole tree
(`local-zone: "." static`): whatever is not written here is NXDOMAIN at once, and nothing
is ever asked of another server.
"""
import os
import random
import socket
import struct
import subprocess
import time

UNBOUND = "/usr/sbin/unbound"
ADDRESS = "127.53.0.1"
DNSBL_ZONES = ["bl-a.bench", "bl-b.bench", "bl-c.bench"]
BL_B_TEXT = "Listed by bl-b.bench, see http://bl-b.bench/?%IP%"   # an A-only zone: the text is ours
RHSBL_ZONE = "rhs.bench"
LISTED_SENDER = "spam@listed-sender.bench"
CLEAN_SENDER = "bench@test.example"

# 40 client addresses; 4 listed (one per zone, one in all three), i.e. 10% of connections.
CLIENTS = [f"127.0.2.{i}" for i in range(1, 41)]
LISTED = {"127.0.2.1": ["bl-a.bench"], "127.0.2.2": ["bl-b.bench"], "127.0.2.3": ["bl-c.bench"],
          "127.0.2.4": DNSBL_ZONES}
NO_PTR = {"127.0.2.5", "127.0.2.6"}          # fcrdns permerror
FORWARD_MISMATCH = {"127.0.2.7", "127.0.2.8"}  # fcrdns fail


def reversed_ip(ip):
    return ".".join(reversed(ip.split(".")))


def records():
    """unbound local-data lines."""
    out = []
    for ip, zones in LISTED.items():
        for zone in zones:
            name = f"{reversed_ip(ip)}.{zone}"
            out.append(f"local-data: '{name}. A 127.0.0.2'")
            if zone != "bl-b.bench":
                out.append(f"local-data: '{name}. TXT \"{ip} is listed in {zone} (bench)\"'")
    for ip in CLIENTS:
        if ip in NO_PTR:
            continue
        host = f"host-{ip.split('.')[-1]}.clients.bench"
        out.append(f"local-data-ptr: '{ip} {host}'")
        out.append(f"local-data: '{host}. A {'192.0.2.99' if ip in FORWARD_MISMATCH else ip}'")
    sender_domain = LISTED_SENDER.split("@")[1]
    out.append(f"local-data: '{sender_domain}.{RHSBL_ZONE}. A 127.0.0.2'")
    out.append(f"local-data: '{sender_domain}.{RHSBL_ZONE}. TXT \"is a listed sender domain (bench)\"'")
    return out


def plan(sessions, seed=9):
    """(source address, sender) per session: clients in turn, every 10th sender listed."""
    rng = random.Random(seed)
    order = CLIENTS[:]
    rng.shuffle(order)
    return [(order[i % len(order)], LISTED_SENDER if i % 10 == 9 else CLEAN_SENDER) for i in range(sessions)]


def expected(p):
    """(refused at connect, refused at MAIL, accepted) if every listing is honoured."""
    at_connect = sum(1 for src, _ in p if src in LISTED)
    at_mail = sum(1 for src, snd in p if src not in LISTED and snd == LISTED_SENDER)
    return at_connect, at_mail, len(p) - at_connect - at_mail


def ours_files(port):
    """Our daemon's config files for the scenario (besides me, rcpthosts, spool...)."""
    return {
        "dnsbl_zones": "bl-a.bench\nbl-b.bench:" + BL_B_TEXT + "\nbl-c.bench\n",
        "rhsbl_zones": RHSBL_ZONE + "\n",
        "dns_servers": f"{ADDRESS}:{port}\n",
        "dns_timeout": "5\n",
    }


def perl_resolv_conf(port):
    """For bench/perl/BenchResolver.pm: Net::DNS reads it instead of /etc/resolv.conf."""
    return f"nameserver {ADDRESS}\noptions port:{port}\n"


PLUGINS = ["dnsbl", "rhsbl", "fcrdns"]


class Unbound:
    def __init__(self, bench_dir, port):
        self.dir = os.path.join(bench_dir, "dns")
        self.port = port
        self.proc = None

    def start(self):
        if not os.access(UNBOUND, os.X_OK):
            raise SystemExit("the dns scenario needs unbound (bench/setup.sh installs it)")
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "unbound.conf")
        lines = ["server:", f"  interface: {ADDRESS}", f"  port: {self.port}", "  do-ip6: no",
                 '  chroot: ""', '  username: ""', f'  directory: "{self.dir}"',
                 f'  pidfile: "{self.dir}/unbound.pid"', f'  logfile: "{self.dir}/unbound.log"',
                 "  use-syslog: no", "  do-daemonize: no", "  verbosity: 1", "  num-threads: 1",
                 '  module-config: "iterator"', "  access-control: 127.0.0.0/8 allow",
                 '  local-zone: "." static', '  local-zone: "127.in-addr.arpa." nodefault']
        lines += ["  " + r for r in records()]
        lines += ["remote-control:", "  control-enable: no", ""]
        with open(conf, "w") as f:
            f.write("\n".join(lines))
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"unbound did not start on {ADDRESS}:{self.port}; see {self.dir}/unbound.log")
            time.sleep(0.1)
        return self

    def answers(self):
        """Whether 2.0.2.127.bl-b.bench (a listed client) gets its A record."""
        name = f"{reversed_ip('127.0.2.2')}.bl-b.bench"
        q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
        q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00" + struct.pack("!HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(q, (ADDRESS, self.port))
                reply = s.recv(512)
            except OSError:
                return False
        return reply[:2] == q[:2] and struct.unpack("!H", reply[6:8])[0] >= 1

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
