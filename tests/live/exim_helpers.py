"""A private Exim for the live tests: its own configuration (-C), spool and logs in the test's
directory, no DNS, messages kept in the queue (queue_only) so a test reads exactly what Exim
stored: the envelope from the spool's -H file, the body with `exim -Mvb`.

Debian's exim4 packages conflict with postfix (both are a mail-transport-agent) and postfix must
stay installed, so .ci/run does not install them: it unpacks exim4-daemon-light, exim4-base and
exim4-config with `dpkg-deb -x` into /opt/qpsmtpd-test-exim and installs the libraries the binary
needs (QPSMTPD_TEST_EXIM names another place). The binary looks up its compiled-in user,
Debian-exim, at start, so .ci/run creates that system user too. We run Exim as the calling user
(root in CI), who is its exim_user and in trusted_users, as Debian's qpsmtpd README asks for
queue/exim-bsmtp: only a trusted caller's MAIL FROM is kept in a batch.

`PrivateExim.wrapper` is a script that runs this Exim with its configuration: give it to
queue/exim-bsmtp as `exim_path`. `start_daemon()` also listens for SMTP on 127.0.0.1:PORT (-bd -oX),
for tests that need a real SMTP server to forward to."""

from __future__ import annotations

import os
import pwd
import grp
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

EXIM_ROOT = Path(os.environ.get("QPSMTPD_TEST_EXIM", "/opt/qpsmtpd-test-exim"))
EXIM_BIN = EXIM_ROOT / "usr" / "sbin" / "exim4"

CONFIG = """\
primary_hostname = exim.test.example
qualify_domain = exim.test.example
spool_directory = {spool}
log_file_path = {log}/%slog
pid_file_path = {dir}/exim.pid
exim_user = {user}
exim_group = {group}
trusted_users = {user}
never_users =
keep_environment =
# Kept in the queue by default: the test reads what Exim stored, nothing is delivered anywhere.
queue_only = {queue_only}
host_lookup =
rfc1413_hosts =
dns_retrans = 1s
local_interfaces = <; 127.0.0.1
acl_not_smtp = not_smtp
acl_smtp_rcpt = smtp_rcpt
acl_smtp_data = smtp_data

begin acl

# Batched SMTP (-bS) runs only the non-SMTP ACL, once for the whole message.
not_smtp:
{not_smtp}
  accept

smtp_rcpt:
{smtp_rcpt}
  accept

smtp_data:
  accept

begin routers
{routers}
begin transports
{transports}
"""


def require_exim() -> Path:
    """The unpacked Exim; missing is a failure (installed by .ci/run), never a skip."""
    if not (EXIM_BIN.is_file() and os.access(EXIM_BIN, os.X_OK)):
        pytest.fail(f"private Exim not found at {EXIM_BIN}: .ci/run unpacks exim4-daemon-light there "
                    "(apt-get download + dpkg-deb -x; it cannot be installed next to postfix)")
    return EXIM_BIN


class PrivateExim:
    """`not_smtp` / `smtp_rcpt`: ACL statements (Exim syntax) put before the final accept;
    `routers` / `transports`: their sections, for a test that lets Exim deliver (queue_only=False)."""

    def __init__(self, directory: Path, not_smtp: str = "", smtp_rcpt: str = "", queue_only: bool = True,
                 routers: str = "", transports: str = ""):
        require_exim()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.spool = self.dir / "spool"
        self.log = self.dir / "log"
        self.spool.mkdir(exist_ok=True)
        self.log.mkdir(exist_ok=True)
        self.config = self.dir / "exim.conf"
        self.config.write_text(CONFIG.format(
            spool=self.spool, log=self.log, dir=self.dir, user=pwd.getpwuid(os.getuid()).pw_name,
            group=grp.getgrgid(os.getgid()).gr_name, not_smtp=not_smtp, smtp_rcpt=smtp_rcpt,
            queue_only="true" if queue_only else "false", routers=routers, transports=transports))
        self.wrapper = self.dir / "exim"
        self.wrapper.write_text(f"#!/bin/sh\nexec {EXIM_BIN} -C {self.config} \"$@\"\n")
        self.wrapper.chmod(0o755)
        self.daemon: subprocess.Popen | None = None
        self.port: int | None = None

    def run(self, *args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([str(EXIM_BIN), "-C", str(self.config), *args], input=input,
                              capture_output=True, timeout=timeout)

    # -- what Exim stored ------------------------------------------------

    def queued_ids(self) -> list[str]:
        """Message ids in the queue, oldest first."""
        files = sorted((self.spool / "input").rglob("*-H"), key=lambda p: p.stat().st_mtime_ns)
        return [p.name[:-2] for p in files]

    def envelope(self, message_id: str) -> tuple[str, list[str]]:
        """(sender, recipients) from the spool's -H file: its third line is the sender in <>,
        then come options, a recipient count and one recipient per line."""
        lines = self._header_file(message_id).split("\n")
        sender = lines[2]
        assert sender.startswith("<") and sender.endswith(">"), f"unexpected -H layout: {lines[:4]}"
        i = 4
        while lines[i].startswith("-"):
            i += 1
        if lines[i] == "XX":  # the non-recipients tree, empty
            i += 1
        count = int(lines[i])
        # A recipient line may end in Exim's " <errors_to length>,<parent>#<flags>" suffix.
        return sender[1:-1], [re.sub(r" \d+,-?\d+#\d+$", "", r) for r in lines[i + 1:i + 1 + count]]

    def headers(self, message_id: str) -> list[str]:
        """The header lines Exim keeps (its own Received and Message-Id included), without the
        spool's length-and-flag prefixes; a folded field stays one string with its newlines."""
        text = self._header_file(message_id)
        block = text.split("\n\n", 1)[1]
        out = []
        pos = 0
        while pos < len(block):
            m = re.match(r"(\d{3,})(.) ", block[pos:])
            assert m, f"unexpected header entry at {block[pos:pos + 40]!r}"
            length = int(m.group(1))
            start = pos + m.end()
            out.append(block[start:start + length].rstrip("\n"))
            pos = start + length
        return out

    def body(self, message_id: str) -> bytes:
        """The body as Exim stored it (LF line ends; the -D file's id line left out)."""
        result = self.run("-Mvb", message_id)
        assert result.returncode == 0, result.stderr
        first, _, rest = result.stdout.partition(b"\n")
        assert first == f"{message_id}-D".encode(), f"unexpected -Mvb output: {result.stdout[:80]!r}"
        return rest

    def _header_file(self, message_id: str) -> str:
        [path] = list((self.spool / "input").rglob(f"{message_id}-H"))
        return path.read_text(errors="replace")

    def main_log(self) -> str:
        path = self.log / "mainlog"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- an SMTP daemon --------------------------------------------------

    def start_daemon(self, port: int) -> int:
        """Listens on 127.0.0.1:port; stopped by stop() (call it in a finally or fixture)."""
        self.daemon = subprocess.Popen([str(EXIM_BIN), "-C", str(self.config), "-bdf", "-oX", str(port)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                pytest.fail(f"exim -bd exited {self.daemon.returncode}: {self.daemon.stderr.read().decode()}\n"
                            f"{self.main_log()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                self.port = port
                return port
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"exim -bd did not listen on 127.0.0.1:{port} within 10 s")

    def stop(self) -> None:
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None


@pytest.fixture
def private_exim(tmp_path):
    """Factory: private_exim(not_smtp=..., smtp_rcpt=...) -> PrivateExim; daemons stopped at teardown."""
    made: list[PrivateExim] = []

    def make(**kw) -> PrivateExim:
        exim = PrivateExim(tmp_path / f"exim{len(made) + 1}", **kw)
        made.append(exim)
        return exim

    yield make
    for exim in made:
        exim.stop()
