#!/usr/bin/env python3
"""The side-by-side benchmark driver (run it through bench/run.sh).

For each repetition, for each server (in an order rotated per repetition): write a private
config, start the server in its own session on a free loopback port, check it accepts mail
for test.example and refuses other domains, warm it up, run every scenario, stop it by PID.
Each measurement is one JSON line in the results file; bench/lib/summarize.py turns the file
into the Markdown table.
"""
import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clients  # noqa: E402
import dnszone  # noqa: E402
import procs  # noqa: E402
import scanners  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
DOMAIN = "test.example"
MAIL_FROM = f"bench@{DOMAIN}"
RCPT = f"rcpt@{DOMAIN}"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
FORKSERVER = "/usr/bin/qpsmtpd-forkserver"

# name -> (sessions, messages, body size, reuse connections); smtp-source loads
LOADS = {
    "par20_reuse": (20, 5000, 4096, True),
    "par20_conn": (20, 2000, 4096, False),
    "seq1_reuse": (1, 1000, 4096, True),
    "par20_100k": (20, 1000, 102400, True),
    # the queue plugins' path into a real MTA; sessions and messages come from
    # --backend-concurrency and --backend-n (bench/run.sh: BACKEND_CONCURRENCY, BACKEND_N)
    "backend": (10, 1000, 4096, True),
}
# big50m runs first by default: its RSS growth is then measured against a freshly warmed-up
# daemon, not against a heap already grown by the 100 KB load.
# "dns" runs only on the two DNS servers (dnsbl with three zones, rhsbl, fcrdns against the
# bench's own unbound), and they run nothing else.
# "backend" runs on every server but the DNS ones (ours-maildir and qpsmtpd-forkserver give the
# Maildir baseline); the four backend servers queue into a private Postfix of their own (the
# "downstream", started and stopped with them) and run nothing else.
# "scan" runs only on the two scan servers (virus/clamdscan then spamassassin, against one
# private clamd and one private spamd shared by both), and they run nothing else.
ALL_SCENARIOS = ["big50m"] + list(LOADS) + ["idle", "dns", "scan"]
ALL_SERVERS = ["ours-maildir", "ours-discard", "smtp-sink", "postfix", "qpsmtpd-forkserver", "aiosmtpd",
               "ours-dns", "qpsmtpd-dns", "ours-forward", "qpsmtpd-forward", "ours-postfixq", "qpsmtpd-postfixq",
               "ours-scan", "qpsmtpd-scan"]
OURS = ("ours-maildir", "ours-discard", "ours-dns", "ours-forward", "ours-postfixq", "ours-scan")
PERL = ("qpsmtpd-forkserver", "qpsmtpd-dns", "qpsmtpd-forward", "qpsmtpd-postfixq", "qpsmtpd-scan")
DNS_SERVERS = ("ours-dns", "qpsmtpd-dns")
SCAN_SERVERS = ("ours-scan", "qpsmtpd-scan")
# server -> how it reaches its downstream Postfix: SMTP to its smtpd, or its cleanup socket
BACKEND_SERVERS = {"ours-forward": "smtp", "qpsmtpd-forward": "smtp",
                   "ours-postfixq": "cleanup", "qpsmtpd-postfixq": "cleanup"}


def runs(server, scenario):
    """Which scenarios a server takes part in."""
    if server in DNS_SERVERS or scenario == "dns":
        return server in DNS_SERVERS and scenario == "dns"
    if server in SCAN_SERVERS or scenario == "scan":
        return server in SCAN_SERVERS and scenario == "scan"
    if server in BACKEND_SERVERS:
        return scenario == "backend"
    return True


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port(start):
    for i in range(70):
        p = 2530 + (start - 2530 + i) % 70          # 2530-2599 only; never 25
        if port_free(p):
            return p
    raise SystemExit("no free port in 2530-2599")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_maildir(path, owner=None):
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    if owner:
        pw = pwd.getpwnam(owner)
        for root in [path] + [os.path.join(path, s) for s in ("new", "cur", "tmp")]:
            os.chown(root, pw.pw_uid, pw.pw_gid)


def empty_maildir(path):
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for e in os.scandir(d):
                os.unlink(e.path)


def count_maildir(path):
    return sum(len(os.listdir(os.path.join(path, s))) for s in ("new", "cur"))


class Server:
    """One server under test: its private config, its process session, its Maildir."""

    def __init__(self, name, a, dirname=None, hold=False):
        """`hold`: a Postfix that keeps every message in its hold queue (a backend's
        downstream), under servers/`dirname`."""
        self.name, self.a, self.hold = name, a, hold
        self.dir = os.path.join(a.bench_dir, "servers", dirname or name)
        self.maildir = None
        self.downstream = None
        self.proc = None
        self.sid = None
        self.port = None
        self.logfile = os.path.join(a.bench_dir, "logs", f"{dirname or name}.log")

    # ---- configs
    def _ours_config(self):
        cfg = os.path.join(self.dir, "config")
        write(f"{cfg}/me", f"bench.{DOMAIN}\n")
        write(f"{cfg}/rcpthosts", f"{DOMAIN}\n")
        write(f"{cfg}/plugins", "\n".join(self._dns_plugins() + ["count_unrecognized_commands 4", "rcpt_ok"]
                                          + self._scan_plugins() + [self._queue_plugin(), ""]))
        if self.name == "ours-dns":
            for name, text in dnszone.ours_files(self.a.dns_port).items():
                write(f"{cfg}/{name}", text)
        write(f"{cfg}/spool_dir", f"{self.dir}/spool\n")
        write(f"{cfg}/loglevel", f"{self.a.loglevel}\n")
        write(f"{cfg}/max_connections", f"{self.a.max_conn}\n")
        write(f"{cfg}/max_connections_per_ip", f"{self.a.max_conn}\n")
        return cfg

    def _qpsmtpd_config(self):
        cfg = os.path.join(self.dir, "config")
        write(f"{cfg}/me", f"bench.{DOMAIN}\n")
        write(f"{cfg}/rcpthosts", f"{DOMAIN}\n")
        write(f"{cfg}/plugin_dirs", "/usr/share/qpsmtpd/plugins\n")
        write(f"{cfg}/plugins", "\n".join(self._dns_plugins() + ["count_unrecognized_commands 4", "rcpt_ok"]
                                          + self._scan_plugins() + [self._queue_plugin(), ""]))
        if self.name == "qpsmtpd-dns":
            # The same zones; Net::DNS is pointed at the bench's unbound by BenchResolver.pm.
            files = dnszone.ours_files(self.a.dns_port)
            write(f"{cfg}/dnsbl_zones", files["dnsbl_zones"])
            write(f"{cfg}/rhsbl_zones", files["rhsbl_zones"])
            write(f"{self.dir}/resolv.conf", dnszone.perl_resolv_conf(self.a.dns_port))
        write(f"{cfg}/spool_dir", f"{self.dir}/spool\n")
        write(f"{cfg}/loglevel", f"{self.a.loglevel}\n")
        pw = pwd.getpwnam("qpsmtpd")
        os.makedirs(f"{self.dir}/spool", exist_ok=True)
        os.chown(f"{self.dir}/spool", pw.pw_uid, pw.pw_gid)
        os.chmod(f"{self.dir}/spool", 0o700)
        return cfg

    def _queue_plugin(self):
        """The same queue plugin line for our daemon and the Perl qpsmtpd."""
        how = BACKEND_SERVERS.get(self.name)
        if how == "smtp":
            return f"queue/smtp-forward 127.0.0.1 {self.downstream.port}"
        if how == "cleanup":
            # The flags Postfix's own smtpd gives cleanup (header_checks included, so the
            # downstream's hold rule applies to both paths alike).
            return f"queue/postfix-queue {self.downstream.cleanup_socket()} FLAG_MASK_EXTERNAL"
        return f"queue/maildir {self.maildir}" if self.maildir else "queue/discard"

    def _dns_plugins(self):
        return dnszone.PLUGINS if self.name in DNS_SERVERS else []

    def _scan_plugins(self):
        """The same scanner chain for both scan servers, at data_post before the queue."""
        return scanners.plugin_lines(self.a.spamd, self.a.clamd) if self.name in SCAN_SERVERS else []

    def _postfix_config(self):
        etc = os.path.join(self.dir, "etc")
        for d in ("spool", "data", "vmail"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        shutil.chown(os.path.join(self.dir, "vmail"), "nobody", "nogroup")
        make_maildir(self.maildir, "nobody")
        write(f"{etc}/main.cf", "\n".join([
            "# private instance for bench/run.sh; nothing here is the system's Postfix",
            "compatibility_level = 3.6",
            f"queue_directory = {self.dir}/spool",
            f"data_directory = {self.dir}/data",
            f"myhostname = bench.{DOMAIN}",
            f"mydomain = {DOMAIN}",
            "mydestination =",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "relayhost =",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            "smtpd_peername_lookup = no",
            "smtp_dns_support_level = disabled",
            "smtpd_relay_restrictions = reject_unauth_destination",
            f"virtual_mailbox_domains = {DOMAIN}",
            f"virtual_mailbox_base = {self.dir}/vmail",
            "virtual_mailbox_maps = static:Maildir/",
            "virtual_uid_maps = static:65534",
            "virtual_gid_maps = static:65534",
            f"maillog_file_prefixes = {self.a.bench_dir}",
            f"maillog_file = {self.a.bench_dir}/logs/{os.path.basename(self.dir)}-maillog.log",
            f"default_process_limit = {self.a.max_conn}",
            "message_size_limit = 0",
            "virtual_mailbox_limit = 0",
            # a backend's downstream keeps every message, queued and fsync'ed, in its hold
            # queue: nothing is delivered, so the bench measures the queueing path only
            *([f"header_checks = regexp:{etc}/hold_everything"] if self.hold else []),
            "",
        ]))
        if self.hold:
            write(f"{etc}/hold_everything", "/^/ HOLD kept by the qpsmtpd bench\n")
        services = [
            f"127.0.0.1:{self.port} inet n - n - {self.a.max_conn} smtpd",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000 0 flush",
            "proxymap unix - - n - - proxymap",
            "proxywrite unix - - n - 1 proxymap",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        write(f"{etc}/master.cf", "\n".join(services) + "\n")
        # creates the queue directories with Postfix's owners and modes
        r = subprocess.run(["postfix", "-c", etc, "check"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"postfix check failed: {r.stdout}{r.stderr}")
        self._postfix_clear_queue()
        if self.hold:
            # The Perl qpsmtpd (user qpsmtpd) connects to public/cleanup (mode 0666) itself;
            # public/ is postfix:postdrop 0710, so others get search access to it.
            public = os.path.join(self.dir, "spool", "public")
            os.chmod(public, os.stat(public).st_mode | 0o001)
        return etc

    def cleanup_socket(self):
        return os.path.join(self.dir, "spool", "public", "cleanup")

    def _postfix_held(self):
        hold = os.path.join(self.dir, "spool", "hold")
        return sum(len(files) for _, _, files in os.walk(hold))

    def _postfix_queue_files(self):
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred") + (() if self.hold else ("hold",)):
            for _, _, files in os.walk(os.path.join(self.dir, "spool", q)):
                n += len(files)
        return n

    def _postfix_clear_queue(self):
        for q in ("maildrop", "incoming", "active", "deferred", "hold", "bounce", "defer", "trace", "corrupt"):
            for root, _, files in os.walk(os.path.join(self.dir, "spool", q)):
                for f in files:
                    os.unlink(os.path.join(root, f))

    # ---- life cycle
    def start(self, port_hint):
        if self.name in BACKEND_SERVERS:
            # its own downstream Postfix first: the queue plugin's config names its port or socket
            self.downstream = Server("postfix", self.a, dirname=f"{self.name}-downstream", hold=True)
            self.downstream.start(port_hint + 1)
        self.port = pick_port(port_hint)
        os.makedirs(self.dir, exist_ok=True)
        a = self.a
        env = dict(os.environ)
        cwd = self.dir
        if self.name in OURS:
            if self.name in BACKEND_SERVERS:
                self.maildir = None              # the downstream keeps the mail
            elif self.name in ("ours-maildir", "ours-dns", "ours-scan"):
                self.maildir = os.path.join(self.dir, "Maildir")
                make_maildir(self.maildir)
            else:
                self.maildir = None              # queue/discard stores nothing
            cmd = [a.binary, "serve", "--config", self._ours_config(), "--listen", f"127.0.0.1:{self.port}"]
        elif self.name == "smtp-sink":
            cmd = [SMTP_SINK, "-u", "nobody", "-m", str(a.max_conn), f"127.0.0.1:{self.port}", "1024"]
        elif self.name == "postfix":
            self.maildir = os.path.join(self.dir, "vmail", "Maildir")
            cmd = [POSTFIX_MASTER, "-c", self._postfix_config()]
        elif self.name in PERL:
            if self.name not in BACKEND_SERVERS:
                self.maildir = os.path.join(self.dir, "Maildir")
                make_maildir(self.maildir, "qpsmtpd")
            env["QPSMTPD_CONFIG"] = self._qpsmtpd_config()
            if self.name == "qpsmtpd-dns":
                # Every Net::DNS resolver asks the bench's unbound (the core's PTR lookup too,
                # which fcrdns reads, so BenchNoPTR is not loaded here).
                env["BENCH_RESOLV_CONF"] = f"{self.dir}/resolv.conf"
                perl_module = "-MBenchResolver"
            else:
                perl_module = "-MBenchNoPTR"
            cmd = ["perl", "-T", "-I" + os.path.join(BENCH, "perl"), perl_module, FORKSERVER,
                   "-l", "127.0.0.1", "-p", str(self.port), "-u", "qpsmtpd",
                   "-c", str(a.max_conn), "-m", "0"]
        elif self.name == "aiosmtpd":
            self.maildir = os.path.join(self.dir, "Maildir")
            make_maildir(self.maildir)
            cmd = [os.path.join(a.bench_dir, "venv", "bin", "python"),
                   os.path.join(BENCH, "servers", "aiosmtpd_peer.py"), str(self.port), self.maildir, DOMAIN]
        else:
            raise SystemExit(f"unknown server {self.name}")
        os.makedirs(os.path.dirname(self.logfile), exist_ok=True)
        logf = open(self.logfile, "ab")
        logf.write(f"\n==== {time.ctime()} start: {' '.join(cmd)}\n".encode())
        logf.flush()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        self.sid = self.proc.pid
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited at start-up (see {self.logfile})")
            try:
                accepted, refused = clients.sanity(self.port, MAIL_FROM, RCPT, "rcpt@other.example")
                break
            except (OSError, ConnectionError, RuntimeError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{self.name} does not answer on 127.0.0.1:{self.port}")
                time.sleep(0.2)
        if not accepted:
            log(f"WARNING {self.name}: the sanity message was not accepted")
        if not refused:
            log(f"note: {self.name} accepts RCPT for other domains (a sink)")
        self.drain()
        if (self.delivered() or 0) < 1 and (self.maildir or self.hold or self.downstream):
            log(f"WARNING {self.name}: sanity message not found where it should be kept")
        self.clean()
        via = f", queueing into Postfix on 127.0.0.1:{self.downstream.port}" if self.downstream else ""
        log(f"{self.name}: pid {self.proc.pid} on 127.0.0.1:{self.port}{via}")

    def stop(self):
        if self.downstream:
            try:
                self._stop()
            finally:
                self.downstream.stop()
                self.downstream = None
        else:
            self._stop()

    def _stop(self):
        if not self.proc:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and procs.members(self.sid):
            time.sleep(0.1)
            self.proc.poll()
        left = procs.members(self.sid)
        for pid in left:                      # our server's own processes, one by one
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            log(f"{self.name}: killed leftover pids {left}")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.name == "postfix":
            self._postfix_clear_queue()
        self.proc = None

    def drain(self, limit_s=120):
        """Postfix delivers after it answers 250: wait until its queue is empty."""
        if self.downstream:
            return self.downstream.drain(limit_s)
        t0 = time.monotonic()
        if self.name == "postfix":
            while self._postfix_queue_files() and time.monotonic() - t0 < limit_s:
                time.sleep(0.05)
        return round(time.monotonic() - t0, 2)

    def clean(self):
        if self.downstream:
            self.downstream.clean()
        if self.hold:
            self.drain()
            for root, _, files in os.walk(os.path.join(self.dir, "spool", "hold")):
                for f in files:
                    os.unlink(os.path.join(root, f))
        if self.maildir:
            self.drain()
            empty_maildir(self.maildir)
        spool = os.path.join(self.dir, "spool")
        if self.name != "postfix" and os.path.isdir(spool):
            for e in os.scandir(spool):
                if e.is_file():
                    os.unlink(e.path)

    def delivered(self):
        """Messages kept: in the Maildir, or in the (downstream) Postfix's hold queue."""
        if self.downstream:
            return self.downstream.delivered()
        if self.hold:
            return self._postfix_held()
        return count_maildir(self.maildir) if self.maildir else None


def smtp_source(server, sessions, messages, size, reuse, logf, timeout):
    args = [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-M", "bench.client", "-f", MAIL_FROM, "-t", RCPT]
    if reuse:
        args.append("-d")
    args.append(f"127.0.0.1:{server.port}")
    logf.write(f"== {server.name}: {' '.join(args)}\n".encode())
    logf.flush()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = 124
    return rc


def measure(server, fn, interval=0.1):
    """Runs fn() while sampling the server; returns (fn's result, measurement dict)."""
    sync()
    base_rss, base_pss, _ = procs.tree_memory(server.sid)
    base_n = len(procs.members(server.sid, zombies=True))
    cpu0, m0 = procs.tree_cpu_seconds(server.sid), procs.machine_cpu()
    with procs.PeakSampler(server.sid, interval=interval) as s:
        t0 = time.perf_counter()
        result = fn()
        secs = time.perf_counter() - t0
    # a forking server's session children must be reaped before their CPU time is counted
    procs.settle(server.sid, base_n)
    cpu1, m1 = procs.tree_cpu_seconds(server.sid), procs.machine_cpu()
    busy, steal = procs.machine_pct(m0, m1)
    return result, dict(
        seconds=round(secs, 4), base_rss_kb=base_rss, base_pss_kb=base_pss,
        peak_rss_kb=max(s.peak_rss, base_rss), peak_pss_kb=max(s.peak_pss, base_pss),
        peak_procs=s.peak_procs, server_cpu_s=round(max(0.0, cpu1 - cpu0), 3),
        busy_pct=busy, steal_pct=steal)


def sync():
    os.sync()


def run_load(server, scen, a, logf):
    sessions, msgs, size, reuse = LOADS[scen]
    if scen == "backend":
        sessions, msgs = a.backend_concurrency, a.backend_n
    msgs = max(sessions, int(msgs * a.scale))
    server.clean()
    down = server.downstream
    down_cpu0 = procs.tree_cpu_seconds(down.sid) if down else None
    rc, m = measure(server, lambda: smtp_source(server, sessions, msgs, size, reuse, logf, a.load_timeout))
    if down:
        # the downstream Postfix's own work (smtpd or not, cleanup, its log), for information
        m.update(downstream_cpu_s=round(procs.tree_cpu_seconds(down.sid) - down_cpu0, 3))
    m.update(drain_s=server.drain(), delivered=server.delivered())
    status = "ok" if rc == 0 else f"rc={rc}"
    if m["delivered"] is not None and m["delivered"] < msgs:
        status += f",delivered<{msgs}"
    elif down and m["delivered"] != msgs:
        status += f",kept {m['delivered']}!={msgs}"
    m.update(sessions=sessions, messages=msgs, size=size, rate=round(msgs / m["seconds"], 1), status=status)
    if scen == "seq1_reuse" and a.latency_n > 0:
        try:
            lat = clients.latency(server.port, a.latency_n, size, MAIL_FROM, RCPT)
            lat.sort()
            q = statistics.quantiles(lat, n=100, method="inclusive")
            m.update(lat_n=len(lat), lat_p50_ms=round(q[49], 3), lat_p90_ms=round(q[89], 3),
                     lat_p99_ms=round(q[98], 3), lat_max_ms=round(lat[-1], 3))
        except (OSError, ConnectionError, RuntimeError) as e:
            m.update(lat_error=str(e))
    server.clean()
    return m


def run_big(server, a):
    server.clean()
    try:
        (secs, code), m = measure(server, lambda: clients.big_message(server.port, a.big_mb, MAIL_FROM, RCPT), interval=0.02)
    except (OSError, ConnectionError, RuntimeError) as e:
        return dict(status=f"error: {e}")
    m.update(messages=1, size=a.big_mb << 20, sessions=1, delivered=server.delivered(),
             rss_growth_kb=m["peak_rss_kb"] - m["base_rss_kb"],
             pss_growth_kb=m["peak_pss_kb"] - m["base_pss_kb"],
             status="ok" if code == 250 else f"reply={code}")
    server.clean()
    return m


def run_dns(server, a):
    """dns_mix from 40 source addresses, 10% of them listed, every 10th sender listed: the
    outcome counts must be the ones the zones imply, on every server."""
    plan = dnszone.plan(a.dns_sessions)
    clients.dns_mix(server.port, dnszone.plan(len(dnszone.CLIENTS), seed=1), a.dns_concurrency)  # warm-up pass
    server.clean()
    (counts, times, _), m = measure(server, lambda: clients.dns_mix(server.port, plan, a.dns_concurrency))
    want = dict(zip(("refused_connect", "refused_mail", "accepted"), dnszone.expected(plan)))
    got = {k: counts[k] for k in want}
    times.sort()
    q = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else [times[0]] * 99
    m.update(sessions=len(plan), concurrency=a.dns_concurrency, rate=round(len(plan) / m["seconds"], 1),
             **counts, expected=want, lat_p50_ms=round(q[49], 2), lat_p90_ms=round(q[89], 2),
             lat_p99_ms=round(q[98], 2), lat_max_ms=round(times[-1], 2), drain_s=server.drain(),
             delivered=server.delivered(),
             status="ok" if got == want and counts["error"] == counts["other"] == 0 else f"outcomes {got} != {want}")
    server.clean()
    return m


def scanned_in_maildir(path):
    """How many kept messages carry both scanners' fields (each was really scanned)."""
    n = 0
    for sub in ("new", "cur"):
        for e in os.scandir(os.path.join(path, sub)):
            with open(e.path, "rb") as f:
                head = f.read(65536).split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
            if b"\nX-Spam-Status:" in head and b"\nX-Virus-Checked:" in head:
                n += 1
    return n


def run_scan(server, a):
    """GTUBE and EICAR must be refused (the chain is on), then --scan-n ~4 KB MIME messages over
    --scan-concurrency connections; ok only if every one is accepted, kept in the Maildir and
    marked by both scanners. spamd's and clamd's CPU is measured beside the server's."""
    checks = {}
    for what, msg in (("gtube", scanners.gtube_message(MAIL_FROM, RCPT)),
                      ("eicar", scanners.eicar_message(MAIL_FROM, RCPT))):
        try:
            checks[what] = clients.one_message(server.port, msg, MAIL_FROM, RCPT)
        except (OSError, ConnectionError, RuntimeError) as e:
            checks[what] = (0, f"error: {e}")
    refused = all(code >= 500 for code, _ in checks.values())
    warm = [scanners.clean_message(MAIL_FROM, RCPT, 900000 + i) for i in range(a.scan_concurrency * 3)]
    clients.message_batch(server.port, warm, a.scan_concurrency, MAIL_FROM, RCPT)
    server.clean()
    msgs = [scanners.clean_message(MAIL_FROM, RCPT, i) for i in range(a.scan_n)]
    # Both servers are one process when idle. The forkserver reaps a finished child only on its
    # next loop (up to 1 s later), and an unreaped child's CPU is in nobody's account: wait until
    # the warm-up's children are gone, so measure() starts from one process and, at the end,
    # waits for every measured child to be reaped.
    procs.settle(server.sid, 1)
    spamd0, clamd0 = a.spamd.cpu_seconds(), a.clamd.cpu_seconds()
    load0 = os.getloadavg()[0]             # the machine is shared: say how busy it was
    (accepted, others, errors, times), m = measure(
        server, lambda: clients.message_batch(server.port, msgs, a.scan_concurrency, MAIL_FROM, RCPT))
    # a spamd child that has just exited counts only once spamd has reaped it
    procs.settle(a.spamd.sid, len(procs.members(a.spamd.sid)), limit_s=2)
    m.update(spamd_cpu_s=round(a.spamd.cpu_seconds() - spamd0, 3),
             clamd_cpu_s=round(a.clamd.cpu_seconds() - clamd0, 3),
             loadavg_1m=[round(load0, 2), round(os.getloadavg()[0], 2)])
    delivered, scanned = server.delivered(), scanned_in_maildir(server.maildir)
    times.sort()
    q = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else [0.0] * 99
    problems = []
    if not refused:
        problems.append("gtube/eicar not refused")
    if accepted != a.scan_n or others or errors:
        problems.append(f"accepted {accepted}/{a.scan_n} others {others} errors {errors}")
    if delivered != a.scan_n:
        problems.append(f"kept {delivered}")
    if scanned != a.scan_n:
        problems.append(f"scanned {scanned}")
    m.update(messages=a.scan_n, sessions=a.scan_concurrency, size=len(msgs[0]), accepted=accepted,
             rate=round(a.scan_n / m["seconds"], 2), delivered=delivered, scanned=scanned,
             gtube_reply=checks["gtube"][1], eicar_reply=checks["eicar"][1],
             lat_p50_ms=round(q[49], 1), lat_p90_ms=round(q[89], 1), lat_p99_ms=round(q[98], 1),
             status="ok" if not problems else "; ".join(problems))
    server.clean()
    return m


def run_idle(server, n, a):
    sync()
    base_rss, base_pss, base_procs = procs.tree_memory(server.sid)
    held = {}

    def snapshot():
        held["rss"], held["pss"], held["procs"] = procs.tree_memory(server.sid)

    m0 = procs.machine_cpu()
    with procs.PeakSampler(server.sid, interval=0.5) as s:
        est, failed, secs = clients.hold_idle(server.port, n, snapshot, total_timeout=a.idle_timeout)
    m1 = procs.machine_cpu()
    busy, steal = procs.machine_pct(m0, m1)
    peak_pss = max(s.peak_pss, held.get("pss", 0))
    m = dict(sessions=est, failed=failed, seconds=round(secs, 3), rate=round(est / max(secs, 1e-6), 1),
             base_rss_kb=base_rss, base_pss_kb=base_pss, peak_rss_kb=max(s.peak_rss, held.get("rss", 0)),
             peak_pss_kb=peak_pss, held_pss_kb=held.get("pss", 0), peak_procs=s.peak_procs,
             pss_per_session_kb=round((held.get("pss", 0) - base_pss) / max(est, 1), 2),
             busy_pct=busy, steal_pct=steal, status="ok" if est == n else f"established {est}/{n}")
    # let a forking server reap its children before the next measurement
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(procs.members(server.sid)) > base_procs + 1:
        time.sleep(0.2)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--bench-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--servers", default=" ".join(ALL_SERVERS))
    ap.add_argument("--scenarios", default=" ".join(ALL_SCENARIOS))
    ap.add_argument("--idle-n", type=int, default=10000)
    ap.add_argument("--peer-idle-n", type=int, default=1000)
    ap.add_argument("--big-mb", type=int, default=50)
    ap.add_argument("--latency-n", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--loglevel", type=int, default=6)
    ap.add_argument("--load-timeout", type=float, default=300)
    ap.add_argument("--idle-timeout", type=float, default=300)
    ap.add_argument("--dns-sessions", type=int, default=2000)
    ap.add_argument("--dns-concurrency", type=int, default=20)
    ap.add_argument("--backend-n", type=int, default=1000)
    ap.add_argument("--backend-concurrency", type=int, default=10)
    ap.add_argument("--scan-n", type=int, default=200)
    ap.add_argument("--scan-concurrency", type=int, default=4)
    a = ap.parse_args()
    servers = a.servers.split()
    scenarios = a.scenarios.split()
    for s in servers:
        if s not in ALL_SERVERS:
            raise SystemExit(f"unknown server {s}; known: {' '.join(ALL_SERVERS)}")
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            raise SystemExit(f"unknown scenario {s}; known: {' '.join(ALL_SCENARIOS)}")
    a.idle_n = max(1, min(a.idle_n, 20000))
    a.max_conn = max(a.idle_n, a.peer_idle_n) + 200
    a.latency_n = int(a.latency_n * a.scale) if a.scale < 1 else a.latency_n
    soft, hard = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)
    if hard < a.idle_n + 500:
        log(f"WARNING: open-file limit {hard} is too low for {a.idle_n} idle sessions")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    os.makedirs(os.path.join(a.bench_dir, "logs"), exist_ok=True)
    out = open(a.out, "a")

    def emit(rec):
        out.write(json.dumps(rec) + "\n")
        out.flush()
        brief = {k: rec.get(k) for k in ("server", "scenario", "rep", "rate", "seconds", "peak_pss_kb",
                                          "server_cpu_s", "lat_p50_ms", "pss_per_session_kb",
                                          "rss_growth_kb", "status") if rec.get(k) is not None}
        log(" ".join(f"{k}={v}" for k, v in brief.items()))

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    emit(dict(kind="meta", started=time.strftime("%Y-%m-%dT%H:%M:%S"), host=socket.gethostname(),
              nproc=os.cpu_count(), kernel=os.uname().release,
              mem_total_kb=int(open("/proc/meminfo").readline().split()[1]),
              postfix=version(["postconf", "-d", "-h", "mail_version"]),
              qpsmtpd=version(["dpkg-query", "-W", "-f=${Version}", "qpsmtpd"]),
              ours=a.binary, reps=a.reps, scale=a.scale, servers=servers, scenarios=scenarios,
              idle_n=a.idle_n, peer_idle_n=a.peer_idle_n, big_mb=a.big_mb, loglevel=a.loglevel))
    unbound = None
    if any(s in DNS_SERVERS for s in servers) and "dns" in scenarios:
        a.dns_port = pick_dns_port()
        unbound = dnszone.Unbound(a.bench_dir, a.dns_port).start()
        log(f"unbound: {dnszone.ADDRESS}:{a.dns_port}, zones {' '.join(dnszone.DNSBL_ZONES)} {dnszone.RHSBL_ZONE}")
    a.dns_sessions = max(len(dnszone.CLIENTS), int(a.dns_sessions * a.scale))
    a.spamd = a.clamd = None
    a.scan_n = max(a.scan_concurrency, int(a.scan_n * a.scale))
    tx0 = non_loopback_tx()
    smtp_log = open(os.path.join(a.bench_dir, "logs", "smtp-source.log"), "ab")
    current = [None]

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        if any(s in SCAN_SERVERS for s in servers) and "scan" in scenarios:
            # one spamd (a child per connection of the load) and one clamd for every repetition
            a.spamd = scanners.Spamd(os.path.join(a.bench_dir, "spamd"), pick_port(2580),
                                     a.scan_concurrency).start()
            a.clamd = scanners.Clamd(pick_port(2585), max(2, a.scan_concurrency)).start()
            log(f"spamd: 127.0.0.1:{a.spamd.port} ({a.scan_concurrency} children); "
                f"clamd: {a.clamd.socket_path} and 127.0.0.1:{a.clamd.port}")
        for rep in range(1, a.reps + 1):
            order = servers[(rep - 1) % len(servers):] + servers[:(rep - 1) % len(servers)]
            for name in order:
                if not any(runs(name, scen) for scen in scenarios):
                    log(f"{name}: skipped, it runs none of: {' '.join(scenarios)}")
                    continue
                srv = Server(name, a)
                current[0] = srv
                srv.start(2530 + ALL_SERVERS.index(name) * 5)
                if a.warmup and name not in SCAN_SERVERS:      # run_scan warms up with its own messages
                    smtp_source(srv, 20, a.warmup, 4096, True, smtp_log, 120)
                    srv.clean()
                for scen in scenarios:
                    if not runs(name, scen):
                        continue
                    base = dict(kind="result", server=name, scenario=scen, rep=rep)
                    if scen in LOADS:
                        emit({**base, **run_load(srv, scen, a, smtp_log)})
                    elif scen == "big50m":
                        emit({**base, **run_big(srv, a)})
                    elif scen == "dns":
                        emit({**base, **run_dns(srv, a)})
                    elif scen == "scan":
                        emit({**base, **run_scan(srv, a)})
                    elif scen == "idle":
                        n = a.idle_n if name in OURS else min(a.idle_n, a.peer_idle_n)
                        emit({**base, **run_idle(srv, n, a)})
                srv.stop()
                current[0] = None
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        if current[0]:
            current[0].stop()
        if unbound:
            unbound.stop()
        for daemon in (a.spamd, a.clamd):
            if daemon:
                daemon.stop()
        emit(dict(kind="end", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  non_loopback_tx_packets=non_loopback_tx() - tx0))


def pick_dns_port():
    """A port free for UDP and TCP on the unbound address, in 2590-2599."""
    for port in range(2590, 2600):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            try:
                u.bind((dnszone.ADDRESS, port))
                t.bind((dnszone.ADDRESS, port))
                return port
            except OSError:
                continue
    raise SystemExit(f"no free port in 2590-2599 on {dnszone.ADDRESS}")


def non_loopback_tx():
    total = 0
    for dev in os.listdir("/sys/class/net"):
        if dev == "lo":
            continue
        try:
            total += int(open(f"/sys/class/net/{dev}/statistics/tx_packets").read())
        except (OSError, ValueError):
            pass
    return total


if __name__ == "__main__":
    main()
