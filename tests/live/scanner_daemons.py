"""Private scanning daemons for the live tests: Debian's clamd and spamd, installed by .ci/run,
each started on a free 127.0.0.1 port and a UNIX socket in a directory of its own, with nothing
fetched from the network (clamd reads a signature database written here, spamd runs local tests
only). The fixtures are module-scoped: a test module imports the ones it needs.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from smtp_helpers import free_port

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Qpsmtpd.Test.EICAR"
# clamd names signatures from a database that is not ClamAV's own this way.
EICAR_FOUND_NAME = EICAR_SIGNATURE + ".UNOFFICIAL"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SPAMASSASSIN_RULES = Path("/usr/share/spamassassin")


@contextlib.contextmanager
def running(cmd: list[str], base: Path, ready: Callable[[], bool], what: str,
            log: Callable[[], str] = lambda: "", startup: float = 60.0) -> Iterator[subprocess.Popen]:
    """Runs `cmd` until the block ends: waits until `ready()` holds (or fails the test with the
    daemon's stderr and log), then SIGTERM, a kill if it lingers, and `base` removed."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + startup
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else "(still running)"
                pytest.fail(f"{what} did not start: {' '.join(cmd)}\n{err}\n{log()[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def answers(port: int, probe: bytes, expected: bytes) -> bool:
    """True when a daemon on 127.0.0.1:port answers `probe` with something starting `expected`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(probe)
            return s.recv(100).startswith(expected)
    except OSError:
        return False


def accepts(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def require(binary: str, package_hint: str) -> str:
    path = shutil.which(binary) or f"/usr/sbin/{binary}"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{binary} is missing ({package_hint}, see .ci/run)")
    return path


class Clamd:
    def __init__(self, base: Path, port: int, socket_path: Path):
        self.base, self.port, self.socket_path = base, port, socket_path
        self.conf = base / "clamd.conf"


@pytest.fixture(scope="module")
def clamd():
    binary = require("clamd", "apt-get install clamav-daemon")
    base = Path(tempfile.mkdtemp(prefix="qpsmtpd-clamd-"))
    base.chmod(0o755)
    db = base / "db"
    db.mkdir()
    (db / "qpsmtpd-test.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")
    port, socket_path = free_port(), base / "clamd.sock"
    daemon = Clamd(base, port, socket_path)
    daemon.conf.write_text(
        f"Foreground yes\nDatabaseDirectory {db}\nTCPSocket {port}\nTCPAddr 127.0.0.1\n"
        f"LocalSocket {socket_path}\nLocalSocketMode 666\nPidFile {base / 'clamd.pid'}\nLogFile {base / 'clamd.log'}\n"
        "MaxThreads 2\nStreamMaxLength 100M\nMaxScanSize 200M\nMaxFileSize 100M\n")
    with running([binary, "--config-file", str(daemon.conf)], base, what="clamd",
                 ready=lambda: socket_path.exists() and answers(port, b"zPING\0", b"PONG\0")):
        yield daemon


class Spamd:
    def __init__(self, base: Path, port: int, socket_path: Path):
        self.base, self.port, self.socket_path = base, port, socket_path

    @property
    def tcp(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.base / "spamd.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def spamd():
    binary = require("spamd", "apt-get install spamd spamassassin")
    if not (SPAMASSASSIN_RULES / "10_default_prefs.cf").exists():
        pytest.fail("SpamAssassin's rules are missing (apt-get install spamassassin, see .ci/run)")
    # spamd started as root runs its children as nobody: the directory must be theirs to use.
    base = Path(tempfile.mkdtemp(prefix="qpsmtpd-spamd-"))
    base.chmod(0o777)
    site = base / "site"
    site.mkdir()
    # The .pre files load SpamAssassin's plugins (Check among them: without it spamd cannot scan).
    for pre in Path("/etc/spamassassin").glob("*.pre"):
        shutil.copy(pre, site / pre.name)
    (site / "local.cf").write_text("required_score 5.0\nreport_safe 0\nuse_bayes 0\n")
    port, socket_path = free_port(), base / "spamd.sock"
    daemon = Spamd(base, port, socket_path)
    cmd = [binary, "--nouser-config", "--local", "--max-children", "1", "--listen", f"127.0.0.1:{port}",
           "--listen", str(socket_path), "--allowed-ips", "127.0.0.1", "--configpath", str(SPAMASSASSIN_RULES),
           "--siteconfigpath", str(site), "--pidfile", str(base / "spamd.pid"), "--syslog", str(base / "spamd.log"),
           "--helper-home-dir", str(base)]
    if os.geteuid() == 0:
        cmd += ["--username", "nobody", "--socketmode", "0666"]
    with running(cmd, base, what="spamd", log=daemon.log,
                 ready=lambda: socket_path.exists() and answers(port, b"PING SPAMC/1.5\r\n\r\n", b"SPAMD/1.5 0 PONG")):
        yield daemon
