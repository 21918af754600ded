"""A private, throw-away Postfix instance for the live tests: its own config_directory,
queue_directory and data_directory, no listening socket at all (master.cf has no inet
service; mail is submitted with Postfix's sendmail), and every delivery going to one
relayhost. Its log is written by postlogd to a file of its own (maillog_file), so nothing
goes to syslog and a failing test can show what Postfix's smtp client did.

Postfix's daemons drop privileges to mail_owner (postfix) and open data_directory by its
absolute path, so the instance cannot live under pytest's tmp_path (whose ancestors are
mode 0700, root-only): it gets a fresh directory of its own under the system temp dir,
removed again by stop(). Needs root (postfix start), as in CI.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
SENDMAIL = "/usr/sbin/sendmail"
POSTQUEUE = "/usr/sbin/postqueue"
REQUIRED = (POSTFIX, POSTCONF, SENDMAIL, POSTQUEUE, "/usr/lib/postfix/sbin/master")

# Only the services a null client needs; no chroot (nothing is copied into the queue dir)
# and, above all, no "inet" entry: this Postfix listens on no port.
MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
pickup     unix  n       -       n       1       1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""


def missing_tools() -> list[str]:
    return [t for t in REQUIRED if not os.access(t, os.X_OK)]


def require_postfix(*extra_tools: str) -> None:
    """Postfix (and `extra_tools`) installed and we are root, or the test fails: CI installs
    postfix (.ci/run) and runs as root; a missing peer is never a silent skip."""
    missing = missing_tools() + [t for t in extra_tools if not os.access(t, os.X_OK)]
    if missing:
        pytest.fail(f"Postfix is not installed (missing {', '.join(missing)}): apt-get install postfix, see .ci/run")
    if os.geteuid() != 0:
        pytest.fail("the private Postfix instance must be started as root (as .ci/run does)")


def stop_all(*instances: "PostfixInstance") -> None:
    """Stops every instance, then fails the test if one did not stop cleanly: a fixture's teardown."""
    problems = [p for pf in instances for p in pf.stop()]
    if problems:
        pytest.fail("\n".join(problems))


class PostfixInstance:
    """create() writes the configuration, start() runs `postfix -c DIR check` and
    `postfix -c DIR start`, stop() stops the master and removes the directory."""

    def __init__(self, params: dict[str, str], files: dict[str, str] | None = None,
                 keep_log_in: Path | None = None, smtpd_listen: str | None = None) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="qpsmtpd-postfix-"))
        # The daemons (uid postfix) must be able to traverse to data_directory.
        self.base.chmod(0o755)
        self.config_dir = self.base / "etc"
        self.queue_dir = self.base / "spool"
        self.data_dir = self.base / "data"   # created by `postfix check`, owned by postfix
        self.maillog = self.base / "maillog"
        self.keep_log_in = keep_log_in
        self.master_pid: int | None = None
        self.config_dir.mkdir()
        self.queue_dir.mkdir()
        for name, text in (files or {}).items():
            (self.config_dir / name).write_text(text)
        main = {
            "compatibility_level": "3.6",
            "config_directory": str(self.config_dir),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "syslog_name": "postfix-qpsmtpd-test",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.base),
            # Nothing is local: every address is relayed to relayhost.
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "biff": "no",
            "notify_classes": "",
            # Retry a deferred message soon, so a slow first attempt does not stall the test.
            "queue_run_delay": "5s",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
        }
        main.update(params)
        (self.config_dir / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        # smtpd_listen ("127.0.0.1:25xx"): an smtpd on that address, for tests that deliver
        # INTO this Postfix (queue/smtp-forward). Without it the instance listens nowhere.
        master = MASTER_CF
        if smtpd_listen is not None:
            master += f"{smtpd_listen} inet n       -       n       -       -       smtpd\n"
        (self.config_dir / "master.cf").write_text(master)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["MAIL_CONFIG"] = str(self.config_dir)
        return env

    def run(self, *args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), input=input, capture_output=True, timeout=timeout, env=self.env())

    def postfix(self, *args: str) -> subprocess.CompletedProcess:
        return self.run(POSTFIX, "-c", str(self.config_dir), *args)

    def start(self) -> None:
        for cmd in (("check",), ("start",)):
            p = self.postfix(*cmd)
            if p.returncode != 0:
                raise AssertionError(f"postfix -c {self.config_dir} {' '.join(cmd)} exited {p.returncode}:\n"
                                     f"{p.stdout.decode(errors='replace')}{p.stderr.decode(errors='replace')}\n"
                                     f"{self.log()}")
        pid_file = self.queue_dir / "pid" / "master.pid"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.master_pid = int(pid_file.read_text().split()[0])
                return
            except (OSError, ValueError, IndexError):
                time.sleep(0.05)
        raise AssertionError(f"no master pid in {pid_file} after postfix start\n{self.log()}")

    def sendmail(self, sender: str, recipients: list[str], message: bytes) -> None:
        p = self.run(SENDMAIL, "-C", str(self.config_dir), "-i", "-f", sender, "--", *recipients, input=message)
        if p.returncode != 0:
            raise AssertionError(f"postfix sendmail exited {p.returncode}: {p.stderr.decode(errors='replace')}\n"
                                 f"{self.log()}")

    def queue(self) -> str:
        p = self.run(POSTQUEUE, "-c", str(self.config_dir), "-p")
        return (p.stdout + p.stderr).decode(errors="replace")

    def queue_entries(self) -> dict[str, dict]:
        """`postqueue -j`: every queued message as Postfix describes it, by queue id."""
        p = self.run(POSTQUEUE, "-c", str(self.config_dir), "-j")
        if p.returncode != 0:
            raise AssertionError(f"postqueue -j exited {p.returncode}: {p.stderr.decode(errors='replace')}")
        entries = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
        return {e["queue_id"]: e for e in entries}

    def postcat(self, queue_id: str) -> str:
        """The queue file of queue_id as `postcat -q` prints it (envelope records, then the message)."""
        p = self.run("/usr/sbin/postcat", "-c", str(self.config_dir), "-q", queue_id)
        if p.returncode != 0:
            raise AssertionError(f"postcat -q {queue_id} exited {p.returncode}: {p.stderr.decode(errors='replace')}")
        return p.stdout.decode(errors="replace")

    def log(self) -> str:
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return "(no maillog)"

    def log_lines(self, *needles: str) -> list[str]:
        return [line for line in self.log().splitlines() if all(n in line for n in needles)]

    def wait_log(self, *needles: str, timeout: float = 30.0) -> list[str]:
        """Log lines containing every needle; waits until there is at least one."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines(*needles)
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def _children(self, pid: int) -> list[int]:
        kids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
            fields = stat[stat.rfind(")") + 2:].split()
            if len(fields) > 1 and int(fields[1]) == pid:
                kids.append(int(entry.name))
        return kids

    def _ours(self, pid: int) -> bool:
        """Still running and one of this instance's processes: master hands MAIL_CONFIG to
        every child, so a reused pid is never mistaken for ours."""
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return False
        return f"MAIL_CONFIG={self.config_dir}".encode() in environ

    def stop(self) -> list[str]:
        """Stop the instance, kill anything of it that is left, remove its directory.
        Returns problems worth reporting (empty when it shut down cleanly)."""
        problems: list[str] = []
        if self.master_pid is not None:
            children = self._children(self.master_pid)
            p = self.postfix("stop")
            if p.returncode != 0:
                problems.append(f"postfix stop exited {p.returncode}: {p.stderr.decode(errors='replace')}")
            # The master goes first and its children follow when they see its signal, a moment
            # later (longer on a loaded machine): wait for all of them, not only the master.
            everyone = [self.master_pid, *children, *self._children(self.master_pid)]
            deadline = time.monotonic() + 10
            while any(self._ours(pid) for pid in everyone) and time.monotonic() < deadline:
                time.sleep(0.05)
            leftovers = [pid for pid in everyone if self._ours(pid)]
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if leftovers:
                problems.append(f"Postfix processes left after postfix stop, killed: {leftovers}")
        if self.keep_log_in is not None and self.maillog.exists():
            self.keep_log_in.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.maillog, self.keep_log_in / "postfix-maillog")
        shutil.rmtree(self.base, ignore_errors=True)
        return problems
