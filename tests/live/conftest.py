"""Fixtures for the live tests: a real qpsmtpd process per test, on
127.0.0.1 with a kernel-chosen port, with its own config directory, Maildir
and spool under the test's tmp_path.

The binary is $QPSMTPD_BIN, or <repo>/.build/debug/qpsmtpd.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from smtp_helpers import SMTPClient, maildir_messages, proc_status_kb, wait_for_messages  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
QPSMTPD_BIN = os.environ.get("QPSMTPD_BIN", str(REPO / ".build" / "debug" / "qpsmtpd"))
LISTEN_RE = re.compile(r"listening on (\S+)")
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

# Numbers worth seeing in every run (peak RSS, shutdown time); printed at the end.
MEASUREMENTS: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("qpsmtpd measurements")
        for m in MEASUREMENTS:
            terminalreporter.write_line(m)


def require_tool(name: str) -> str:
    """Tools the suite needs are installed by .ci/run; a missing one is a failure, not a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"required tool '{name}' is not installed (apt-get install swaks ucspi-tcp curl)")
    return path


@pytest.fixture(scope="session")
def qpsmtpd_bin() -> str:
    p = Path(QPSMTPD_BIN)
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"qpsmtpd binary not found at {p}: run `swift build` or set QPSMTPD_BIN")
    return str(p)


def write_config(config_dir: Path, files: dict[str, str | None]) -> Path:
    """Write a qmail-style config directory; a value of None leaves the file out."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        text = content if content.endswith("\n") or content == "" else content + "\n"
        (config_dir / name).write_text(text)
    return config_dir


def default_config(tmp: Path, maildir: Path) -> dict[str, str | None]:
    return {
        "me": "localhost",
        "rcpthosts": "# domains we accept mail for\ntest.example\nlocalhost",
        "plugins": f"rcpt_ok\nqueue/maildir {maildir}",
        "timeout": "30",
        "spool_dir": str(tmp / "spool"),
        "size_threshold": "65536",
        "loglevel": "6",
    }


@dataclass
class Daemon:
    proc: subprocess.Popen
    config_dir: Path
    maildir: Path
    spool_dir: Path
    log_path: Path
    addresses: list[tuple[str, int]] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    stopped: bool = False
    exit_code: int | None = None

    @property
    def host(self) -> str:
        return self.addresses[0][0]

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, greet: bool = True, **kw) -> SMTPClient:
        c = SMTPClient(self.host, self.port, **kw)
        if greet:
            c.greeting()
        return c

    def messages(self) -> list[bytes]:
        return maildir_messages(self.maildir)

    def wait_messages(self, n: int, timeout: float = 5.0) -> list[bytes]:
        return wait_for_messages(self.maildir, n, timeout)

    def vmhwm_kb(self) -> int:
        return proc_status_kb(self.pid, "VmHWM")

    def vmrss_kb(self) -> int:
        return proc_status_kb(self.pid, "VmRSS")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.stderr_lines[-n:])

    def assert_alive(self) -> None:
        rc = self.proc.poll()
        assert rc is None, f"qpsmtpd exited unexpectedly with {rc}; log tail:\n{self.log_tail()}"

    def signal_and_wait(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> tuple[int, float]:
        """Send a signal, wait for exit; return (exit code, seconds taken)."""
        self.assert_alive()
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.stopped = True
            raise AssertionError(f"qpsmtpd did not exit within {timeout}s of signal {sig}; log tail:\n{self.log_tail()}")
        self.stopped = True
        self.exit_code = rc
        return rc, time.monotonic() - t0


def _drain(stream, daemon: Daemon, cond: threading.Condition, log) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        log.write(raw)
        log.flush()
        with cond:
            daemon.stderr_lines.append(line)
            m = LISTEN_RE.search(line)
            if m:
                hostport = m.group(1)
                host, _, port = hostport.rpartition(":")
                daemon.addresses.append((host.strip("[]"), int(port)))
            cond.notify_all()
    with cond:
        cond.notify_all()


@pytest.fixture
def start_daemon(qpsmtpd_bin, tmp_path):
    """Factory: start_daemon(config={...}, args=[...], listen=[...]) -> Daemon.

    `config` entries override the defaults (None removes a file); "{maildir}"
    in any value is replaced by the Maildir path. On teardown every daemon is
    sent SIGTERM and must exit 0 within STOP_TIMEOUT seconds.
    """
    started: list[Daemon] = []
    counter = [0]

    def start(config: dict[str, str | None] | None = None, args: list[str] | None = None,
              listen: list[str] | None = None) -> Daemon:
        counter[0] += 1
        base = tmp_path / f"d{counter[0]}"
        base.mkdir()
        maildir = base / "Maildir"
        files = default_config(base, maildir)
        files.update(config or {})
        files = {k: (v.replace("{maildir}", str(maildir)) if v is not None else None) for k, v in files.items()}
        config_dir = write_config(base / "config", files)
        listen = listen or ["127.0.0.1:0"]
        cmd = [qpsmtpd_bin, "serve", "--config", str(config_dir)]
        for addr in listen:
            cmd += ["--listen", addr]
        cmd += args or []
        log_path = base / "qpsmtpd.log"
        log = open(log_path, "wb")
        with open(base / "stdout.log", "wb") as out:
            proc = subprocess.Popen(cmd, cwd=base, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.PIPE)
        d = Daemon(proc=proc, config_dir=config_dir, maildir=maildir, spool_dir=base / "spool", log_path=log_path)
        started.append(d)
        cond = threading.Condition()
        threading.Thread(target=_drain, args=(proc.stderr, d, cond, log), daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with cond:
            while len(d.addresses) < len(listen):
                if proc.poll() is not None:
                    cond.wait(0.5)  # let the drain thread catch the last lines
                    pytest.fail(f"qpsmtpd exited with {proc.returncode} before listening: {' '.join(cmd)}\n"
                                f"{d.log_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no 'listening on HOST:PORT' on stderr within {STARTUP_TIMEOUT}s: "
                                f"{' '.join(cmd)}\n{d.log_tail()}")
                cond.wait(min(left, 0.2))
        return d

    yield start

    problems = []
    for d in started:
        if d.stopped:
            continue
        rc = d.proc.poll()
        if rc is not None:
            problems.append(f"qpsmtpd (pid {d.pid}) had already exited with {rc} before teardown:\n{d.log_tail()}")
            continue
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()
            problems.append(f"qpsmtpd (pid {d.pid}) ignored SIGTERM for {STOP_TIMEOUT}s:\n{d.log_tail()}")
            continue
        if rc != 0:
            problems.append(f"qpsmtpd (pid {d.pid}) exited {rc} after SIGTERM (expected 0):\n{d.log_tail()}")
    if problems:
        pytest.fail("\n\n".join(problems))


@pytest.fixture
def daemon(start_daemon) -> Daemon:
    """A daemon with the default test config: rcpt_ok for test.example and
    localhost, delivery to a Maildir, no size limit."""
    return start_daemon()
