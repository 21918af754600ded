"""The "scan" scenario's scanners: one private spamd and one private clamd, started once for
the scenario and shared by every server that takes part, and the messages sent through them.

Nothing is fetched from the network: clamd reads one signature database written here (an
EICAR entry, so an infected attachment is really found; no freshclam), spamd runs the rules
Debian's spamassassin package installed with --local (no DNS or network tests) and
--nouser-config, with a private site config. Both listen on 127.0.0.1 (ports 2530-2599) and
clamd also on a UNIX socket; each runs in its own session so its CPU can be measured apart
from the SMTP servers'.
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import time

import procs

SPAMD = "/usr/sbin/spamd"
CLAMD = "/usr/sbin/clamd"
SPAMASSASSIN_RULES = "/usr/share/spamassassin"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# The Perl clamdscan plugin keeps only [\w/.] of clamd_socket (its taint check), so the
# socket's path may hold no hyphen: it cannot live under the default /tmp/qpsmtpd-bench.
CLAMD_DIR = "/tmp/qpsmtpd_bench_clamd"


def _answers(port, probe, expected):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(probe)
            return s.recv(100).startswith(expected)
    except OSError:
        return False


class Daemon:
    """A scanner daemon in a session of its own, stopped by its PID."""

    what = "daemon"

    def __init__(self, base, port):
        self.base, self.port = base, port
        self.proc = None
        self.sid = None

    def command(self):
        raise NotImplementedError

    def ready(self):
        raise NotImplementedError

    def logfile(self):
        raise NotImplementedError

    def start(self, startup_s=180):
        if os.path.isdir(self.base):
            shutil.rmtree(self.base)
        os.makedirs(self.base)
        cmd = self.command()
        err = open(os.path.join(self.base, "stderr.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                     start_new_session=True)
        err.close()
        self.sid = self.proc.pid
        deadline = time.monotonic() + startup_s
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{self.what} did not start: {' '.join(cmd)}\n"
                                 f"see {self.base}/stderr.log and {self.logfile()}")
            time.sleep(0.2)
        return self

    def cpu_seconds(self):
        return procs.tree_cpu_seconds(self.sid)

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for pid in procs.members(self.sid):        # its own leftovers (spamd children), one by one
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None


class Spamd(Daemon):
    what = "spamd"

    def __init__(self, base, port, children):
        super().__init__(base, port)
        self.children = children

    def command(self):
        if not os.access(SPAMD, os.X_OK) or not os.path.exists(f"{SPAMASSASSIN_RULES}/10_default_prefs.cf"):
            raise SystemExit("the scan scenario needs spamd and spamassassin (bench/setup.sh installs them)")
        # spamd started as root runs its children as nobody: they must be able to use the directory.
        os.chmod(self.base, 0o777)
        site = os.path.join(self.base, "site")
        os.makedirs(site)
        # the .pre files load SpamAssassin's plugins (Check among them: without it nothing is scanned)
        for name in os.listdir("/etc/spamassassin"):
            if name.endswith(".pre"):
                shutil.copy(os.path.join("/etc/spamassassin", name), site)
        with open(os.path.join(site, "local.cf"), "w") as f:
            f.write("required_score 5.0\nreport_safe 0\nuse_bayes 0\n")
        # A fixed pool of children, as many as the load's connections, so no scan waits for a
        # fork; --max-conn-per-child stays at spamd's default (200).
        return [SPAMD, "--nouser-config", "--local", "--max-children", str(self.children),
                "--min-children", str(self.children), "--min-spare", "1", "--max-spare", str(self.children),
                "--listen", f"127.0.0.1:{self.port}", "--allowed-ips", "127.0.0.1",
                "--configpath", SPAMASSASSIN_RULES, "--siteconfigpath", site,
                "--pidfile", os.path.join(self.base, "spamd.pid"), "--syslog", self.logfile(),
                "--helper-home-dir", self.base, "--username", "nobody"]

    def logfile(self):
        return os.path.join(self.base, "spamd.log")

    def ready(self):
        return _answers(self.port, b"PING SPAMC/1.5\r\n\r\n", b"SPAMD/1.5 0 PONG")


class Clamd(Daemon):
    what = "clamd"

    def __init__(self, port, threads):
        super().__init__(CLAMD_DIR, port)
        self.threads = threads
        self.socket_path = os.path.join(CLAMD_DIR, "clamd.sock")

    def command(self):
        if not os.access(CLAMD, os.X_OK):
            raise SystemExit("the scan scenario needs clamd (bench/setup.sh installs clamav-daemon)")
        os.chmod(self.base, 0o755)         # the Perl qpsmtpd (user qpsmtpd) connects to the socket
        db = os.path.join(self.base, "db")
        os.makedirs(db)
        with open(os.path.join(db, "bench-eicar.ndb"), "w") as f:
            f.write(f"Bench.Test.EICAR:0:*:{EICAR.hex()}\n")
        conf = os.path.join(self.base, "clamd.conf")
        # No User line: clamd stays root, so it can read the Perl qpsmtpd's spool file, which
        # that plugin passes by path (SCAN); ours streams the message (zINSTREAM).
        with open(conf, "w") as f:
            f.write(f"Foreground yes\nDatabaseDirectory {db}\nTCPSocket {self.port}\nTCPAddr 127.0.0.1\n"
                    f"LocalSocket {self.socket_path}\nLocalSocketMode 666\n"
                    f"PidFile {self.base}/clamd.pid\nLogFile {self.logfile()}\n"
                    f"MaxThreads {self.threads}\nStreamMaxLength 100M\nMaxScanSize 200M\nMaxFileSize 100M\n")
        return [CLAMD, "--config-file", conf]

    def logfile(self):
        return os.path.join(self.base, "clamd.log")

    def ready(self):
        return os.path.exists(self.socket_path) and _answers(self.port, b"zPING\0", b"PONG\0")


def plugin_lines(spamd, clamd):
    """The same chain for our daemon and the Perl qpsmtpd: clamd over its UNIX socket, scan_all
    so every message goes to it, then spamd over TCP, refusing at 10 points."""
    return [f"virus/clamdscan clamd_socket {clamd.socket_path} scan_all 1 deny_viruses yes",
            f"spamassassin spamd_socket 127.0.0.1:{spamd.port} reject 10"]


def _mime(subject, text, attachment, name, mail_from, rcpt, index):
    boundary = f"=_bench_{index:06d}"
    att = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    return b"".join([
        f"From: Bench Sender <{mail_from}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
        f"Date: Mon, 30 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench-{index}@test.example>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
        f"This is a multi-part message in MIME format.\r\n\r\n--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n".encode(),
        text,
        f"\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n"
        f"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n".encode(),
        att,
        f"\r\n--{boundary}--\r\n".encode(),
    ])


# Plain prose, so the clean message scores low with the stock rules (no network tests).
_PARAGRAPH = (b"Hello team,\r\n\r\nthe minutes of Tuesday's meeting are attached. We agreed to move\r\n"
              b"the release review to Thursday afternoon, and Maria will send the updated\r\n"
              b"schedule for the test machines by the end of the week. Please read the\r\n"
              b"notes before then and add anything that was missed.\r\n\r\n")


def clean_message(mail_from, rcpt, index=0):
    """About 4 KB: a text part of about 2 KB and a 1.5 KB binary attachment (base64)."""
    attachment = bytes((i * 7 + index) % 256 for i in range(1536))
    return _mime(f"Meeting notes {index}", _PARAGRAPH * 5 + b"Regards,\r\nBench\r\n", attachment,
                 "minutes.bin", mail_from, rcpt, index)


def gtube_message(mail_from, rcpt):
    return _mime("GTUBE check", _PARAGRAPH + GTUBE + b"\r\n", b"nothing here\r\n", "note.txt",
                 mail_from, rcpt, 999998)


def eicar_message(mail_from, rcpt):
    return _mime("EICAR check", _PARAGRAPH, EICAR, "eicar.com", mail_from, rcpt, 999999)
