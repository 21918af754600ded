"""A private rspamd for the live tests: Debian's rspamd 3.4 with the package's rules, started on
a 127.0.0.1 port with its own configuration, database, run and log directories, and nothing
that reaches the network.

    with start_rspamd() as r:              # or the `rspamd` fixture in test_rspamd.py
        r.address                           # "127.0.0.1:PORT", the normal worker (/checkv2)
        r.milter_address                    # "127.0.0.1:PORT", the proxy worker in milter mode
        r.log()                             # rspamd's log so far

The top-level file is ours (the package's `rspamd.conf` would bind localhost's fixed ports);
it includes the package's common.conf, so the package's modules and rules load, with
`LOCAL_CONFDIR` pointing at our directory, whose local.d files switch off every module that
asks DNS or another server (rbl, spf, dkim, dmarc, fuzzy_check, ...). rspamd's own resolver
points at 127.0.0.1:1, where nothing answers, so any lookup left over fails locally at once.
Redis is not configured, so the modules that need it stay off by themselves.

Our local rules (rspamd.local.lua) let a test choose the verdict through the message header:
`X-Test-Score: N` adds the symbol QPS_TEST_SCORE with weight N, which the thresholds below turn
into an action, and `X-Test-Action: soft reject` forces that action (it has no threshold).

As root (CI), rspamd's workers run as `_rspamd` (rspamd refuses root workers), so the private
directory lives outside pytest's 0700 tmp tree and is handed to that user.
"""
from __future__ import annotations

import contextlib
import grp
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from smtp_helpers import free_port

RSPAMD = "/usr/bin/rspamd"
STARTUP_TIMEOUT = 240.0

# Thresholds far apart, so a test's X-Test-Score decides the action whatever the package's
# rules add for a test message (a few points: no rDNS, one Received, ...). GTUBE is rspamd's
# own reject, whatever the score.
ACTIONS = """\
reject = 50;
rewrite_subject = 30;
add_header = 20;
greylist = 10;
subject = "***SPAM*** %s";
"""

# Modules that look anything up (DNS, HTTP, Redis, other daemons) or keep state across scans.
NETWORK_MODULES = [
    "rbl", "surbl", "emails", "fuzzy_check", "phishing", "dkim", "dkim_signing", "arc", "spf", "dmarc",
    "url_reputation", "url_redirector", "neural", "ratelimit", "greylist", "replies", "reputation",
    "asn", "mx_check", "dcc", "rspamd_update", "whitelist", "hfilter", "history_redis", "p0f",
    "antivirus", "external_services", "clickhouse", "elastic", "metadata_exporter", "metric_exporter",
    "bimi", "maillist", "spamtrap", "multimap", "trie", "external_relay", "aws_s3", "dynamic_conf",
]

# rspamd's resolver: a loopback port where nothing listens, so every lookup fails here at once.
DNS_OPTIONS = """\
dns {
    nameserver = ["127.0.0.1:1"];
    timeout = 0.2s;
    retransmits = 1;
}
"""

# The fields rspamd asks the MTA to add (`milter.add_headers` over HTTP, SMFIR_* over milter):
# its result with every symbol, and the queue id we told it; also for our 127.0.0.1 clients,
# which the module skips by default.
MILTER_HEADERS = """\
use = ["x-spamd-result", "x-rspamd-queue-id"];
skip_local = false;
skip_authenticated = false;
"""

LOCAL_LUA = """\
-- The live tests' knobs: a score or an action chosen by a header of the message.
rspamd_config:register_symbol{
  name = 'QPS_TEST_SCORE',
  score = 1.0,
  description = 'qpsmtpd live tests: X-Test-Score',
  callback = function(task)
    local value = task:get_header('X-Test-Score')
    if value and tonumber(value) then
      task:insert_result('QPS_TEST_SCORE', tonumber(value))
    end
  end
}
rspamd_config:register_symbol{
  name = 'QPS_TEST_ACTION',
  score = 0.0,
  type = 'prefilter',
  priority = 10,
  description = 'qpsmtpd live tests: X-Test-Action',
  callback = function(task)
    local value = task:get_header('X-Test-Action')
    if value then
      task:set_pre_result(value, 'forced by the test', 'qpsmtpd-test')
    end
  end
}
"""


class Rspamd:
    def __init__(self, base: Path, port: int, milter_port: int | None, proc: subprocess.Popen):
        self.base, self.port, self.milter_port, self.proc = base, port, milter_port, proc

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def milter_address(self) -> str:
        assert self.milter_port is not None, "started without a milter worker"
        return f"127.0.0.1:{self.milter_port}"

    def log(self) -> str:
        path = self.base / "log" / "rspamd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pids(self) -> list[int]:
        """The main process and its workers."""
        pids = [self.proc.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    pids.append(int(entry.name))
        return pids

    def udp_peers(self) -> set[tuple[str, int]]:
        """Where rspamd's UDP sockets (its DNS resolver's) are connected to, from /proc."""
        inodes = set()
        for pid in self.pids():
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
            except OSError:
                continue
        peers = set()
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[9] in inodes:
                    address, port = cols[2].split(":")
                    raw = bytes.fromhex(address)
                    # /proc writes each 32-bit word in host (little-endian) order.
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    peers.add((str(ipaddress.ip_address(raw)), int(port, 16)))
        return peers


def _config(base: Path, port: int, milter_port: int | None) -> str:
    milter = ""
    if milter_port is not None:
        milter = f"""
worker "rspamd_proxy" {{
    bind_socket = "127.0.0.1:{milter_port}";
    milter = yes;
    timeout = 120s;
    count = 1;
    upstream "local" {{
        default = yes;
        self_scan = yes;
    }}
    spam_header = "X-Spam";
    reject_message = "Spam message rejected";
}}
"""
    return f"""\
.include "$CONFDIR/common.conf"

options {{
    pidfile = "{base}/run/rspamd.pid";
    .include "$CONFDIR/options.inc"
    filters = "chartable,regexp";
    # After the package's options.inc, merged into its dns section (a second `dns` block here
    # would be dropped, and rspamd would ask resolv.conf's servers).
    .include(try=false; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
    local_addrs = [];
    hs_cache_dir = "{base}/db";
    # The 50 MB test message must be scanned, not refused for its size.
    max_message = 100M;
    task_timeout = 60s;
}}

logging {{
    type = "file";
    filename = "{base}/log/rspamd.log";
    level = "info";
}}

worker "normal" {{
    bind_socket = "127.0.0.1:{port}";
    count = 1;
    .include "$CONFDIR/worker-normal.inc"
}}
{milter}"""


@contextlib.contextmanager
def start_rspamd(milter: bool = False):
    if not os.access(RSPAMD, os.X_OK):
        pytest.fail("rspamd is missing (apt-get install rspamd, see .ci/run)")
    base = Path(tempfile.mkdtemp(prefix="qpsmtpd-rspamd-"))
    for sub in ("local", "local/local.d", "db", "run", "log"):
        (base / sub).mkdir(exist_ok=True)
    local = base / "local"
    (local / "local.d" / "actions.conf").write_text(ACTIONS)
    (local / "local.d" / "options.inc").write_text(DNS_OPTIONS)
    for module in NETWORK_MODULES:
        (local / "local.d" / f"{module}.conf").write_text("enabled = false;\n")
    (local / "local.d" / "milter_headers.conf").write_text(MILTER_HEADERS)
    (local / "rspamd.local.lua").write_text(LOCAL_LUA)
    port = free_port()
    milter_port = free_port() if milter else None
    config = base / "rspamd.conf"
    config.write_text(_config(base, port, milter_port))

    cmd = [RSPAMD, "-f", "-c", str(config), "--var", f"LOCAL_CONFDIR={local}", "--var", f"DBDIR={base}/db",
           "--var", f"RUNDIR={base}/run", "--var", f"LOGDIR={base}/log"]
    if os.geteuid() == 0:
        user = pwd.getpwnam("_rspamd")
        for path in [base, *base.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        cmd += ["-u", "_rspamd", "-g", "_rspamd"]
    else:
        cmd += ["-u", pwd.getpwuid(os.geteuid()).pw_name, "-g", grp.getgrgid(os.getegid()).gr_name]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    daemon = Rspamd(base, port, milter_port, proc)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not (_answers_ping(port) and (milter_port is None or _listens(milter_port))):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"rspamd did not start: {' '.join(cmd)}\n{out[-3000:]}\n{daemon.log()[-3000:]}")
        time.sleep(0.3)
    try:
        yield daemon
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            return data.startswith(b"HTTP/1.") and b"pong" in data
    except OSError:
        return False
