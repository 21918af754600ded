"""Day-one fixes, checked against the running daemon: --user, TCP_NODELAY on accepted sockets,
the TLS 1.2 cipher offer, --version and config-directory errors, the log line format, and one
Delivered-To per recipient."""
from __future__ import annotations

import ctypes
import datetime
import os
import pwd
import re
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import require_tool
from smtp_helpers import expect, split_message, wait_for_messages
from tls_helpers import SERVER_NAME

SYS_PIDFD_GETFD = 438  # the same number on every architecture with the unified syscall table
SO_DEBUG = 1  # SOL_SOCKET level; TCP_NODELAY is 1 too, at the IPPROTO_TCP level
LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\d+) \[([^\]\s]+)\]")
TLS12_ACCEPTED = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"]
# Static RSA key exchange (no forward secrecy) and CBC with SHA-1: swift-nio-ssl's default offers them.
TLS12_REFUSED = ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA"]


def run(cmd: list, cwd, timeout: float = 30, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, input=input, capture_output=True, text=True,
                          timeout=timeout)


def make_rsa_pki(directory: Path) -> dict[str, Path]:
    """A CA and an RSA server certificate: ECDHE-RSA and static-RSA suites need an RSA key
    (tls_helpers.make_pki makes an EC one)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt, ext = (directory / n for n in ("server.key", "server.csr", "server.crt", "server.ext"))
    ext.write_text(f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    for args in (["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj", "/CN=qpsmtpd test CA"],
                 ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={SERVER_NAME}"],
                 ["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                  "-out", crt, "-days", "2", "-extfile", ext]):
        p = run([require_tool("openssl"), *args], directory)
        assert p.returncode == 0, p.stderr
    return {"ca": ca_crt, "cert": crt, "key": key}


@pytest.fixture
def rsa_pki(tmp_path):
    return make_rsa_pki(tmp_path / "pki")


def tls_daemon(start_daemon, pki, **extra):
    plugins = f"tls {pki['cert']} {pki['key']}\nrcpt_ok\nqueue/maildir {{maildir}}"
    return start_daemon({"me": SERVER_NAME, "plugins": plugins, **extra})


def tls12_handshake(d, ca: Path, cipher: str) -> tuple[bool, str]:
    """STARTTLS with openssl s_client offering only `cipher` over TLS 1.2. @SECLEVEL=0 keeps the
    client willing to offer SHA-1 and static-RSA suites, so a failure is the server's refusal."""
    p = run([require_tool("openssl"), "s_client", "-starttls", "smtp", "-tls1_2", "-cipher", f"{cipher}:@SECLEVEL=0",
             "-connect", f"{d.host}:{d.port}", "-CAfile", ca, "-servername", SERVER_NAME], None, input="QUIT\r\n")
    out = p.stdout + p.stderr
    established = "Cipher is" in p.stdout and "Cipher is (NONE)" not in p.stdout
    if established:
        assert f"Cipher is {cipher}" in p.stdout and re.search(r"Protocol\s*: TLSv1\.2", p.stdout), out
    else:
        # The server answered the ClientHello with a handshake_failure alert: not a client-side problem.
        assert "alert handshake failure" in out, f"{cipher}: handshake failed for another reason:\n{out}"
    return established, out


def accepted_socket_option(pid: int, peer: tuple, level: int, option: int) -> int:
    """Read a socket option on the daemon's accepted socket whose peer is `peer`, through a
    duplicate of its descriptor taken with pidfd_getfd."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    seen = []
    try:
        for entry in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{entry}").startswith("socket:"):
                    continue
            except OSError:
                continue
            dupfd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(entry), 0)
            assert dupfd >= 0, f"pidfd_getfd({entry}): {os.strerror(ctypes.get_errno())}"
            s = socket.socket(fileno=dupfd)
            try:
                try:
                    name = s.getpeername()
                except OSError:
                    continue
                seen.append(name)
                if name == peer:
                    return s.getsockopt(level, option)
            finally:
                os.close(s.detach())
    finally:
        os.close(pidfd)
    raise AssertionError(f"no socket in pid {pid} is connected to {peer}; peers seen: {seen}")


def thread_uids(pid: int) -> dict[int, tuple[str, list[str]]]:
    """tid -> (thread name, [real, effective, saved uid]) for every thread of pid."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        threads[int(tid)] = (fields["Name"].strip(), fields["Uid"].split()[:3])
    assert int(pid) in threads, f"no main thread in /proc/{pid}/task"
    return threads


def test_user_switch_serves_and_delivers_as_that_user(start_daemon, tmp_path):
    """--user: the session and delivery run as the user; Maildir and spool are created as it."""
    nobody = pwd.getpwnam("nobody")
    for part in [tmp_path, *tmp_path.parents]:  # pytest's tmp dirs are 0700
        mode = part.stat().st_mode
        if mode & 0o005 != 0o005:
            part.chmod(mode | 0o005)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    maildir, spool = home / "Maildir", home / "spool"
    old_umask = os.umask(0o022)  # the config files must be readable by the user
    try:
        d = start_daemon({"plugins": f"rcpt_ok\nqueue/maildir {maildir}", "spool_dir": str(spool)},
                         args=["--user", "nobody"])
    finally:
        os.umask(old_umask)
    with smtplib.SMTP(d.host, d.port, local_hostname="client.example", timeout=15) as s:
        s.sendmail("s@x.example", ["u@test.example"], b"Subject: as nobody\r\n\r\nhello\r\n")
    wait_for_messages(maildir, 1)
    [msg_file] = list((maildir / "new").iterdir())
    for path in (msg_file, maildir, maildir / "new", spool):
        assert path.stat().st_uid == nobody.pw_uid, f"{path} is owned by uid {path.stat().st_uid}, not nobody"
    # /proc/<pid>/status is the main thread's; every thread must have switched, the main one included.
    wrong = {tid: ids for tid, ids in thread_uids(d.pid).items() if ids[1] != [str(nobody.pw_uid)] * 3}
    assert not wrong, f"threads not running as nobody (name, real/effective/saved uid), pid {d.pid}: {wrong}"
    d.assert_alive()


def test_user_unknown_is_refused(qpsmtpd_bin, tmp_path):
    """--user with an unknown account exits 77 (EX_NOPERM), naming the account."""
    p = run([qpsmtpd_bin, "serve", "--config", tmp_path, "--listen", "127.0.0.1:0", "--user", "no-such-user-xyz"],
            tmp_path)
    assert p.returncode == 77, f"exit {p.returncode}: {p.stderr}"
    assert "no-such-user-xyz" in p.stderr and "listening on" not in p.stderr, p.stderr


def test_accepted_socket_has_tcp_nodelay(daemon):
    """TCP_NODELAY is set at the TCP level on accepted sockets, and SO_DEBUG (same number at the
    socket level) is not."""
    with daemon.client() as c:
        peer = c.sock.getsockname()
        assert accepted_socket_option(daemon.pid, peer, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert accepted_socket_option(daemon.pid, peer, socket.SOL_SOCKET, SO_DEBUG) == 0, "SO_DEBUG is set"
        expect(c.cmd("QUIT"), 221)


def test_tls12_default_offers_only_ecdhe_aead(start_daemon, rsa_pki):
    """TLS 1.2 by default: ECDHE with AES-GCM or ChaCha20 only; no static RSA, no CBC-SHA1."""
    d = tls_daemon(start_daemon, rsa_pki)
    results = {c: tls12_handshake(d, rsa_pki["ca"], c)[0] for c in TLS12_ACCEPTED + TLS12_REFUSED}
    wrong = {c: ok for c, ok in results.items() if ok != (c in TLS12_ACCEPTED)}
    assert not wrong, f"suites accepted (True) / refused (False) against the default policy: {wrong}"


@pytest.mark.parametrize("ciphers", ["AES128-SHA", ":".join(TLS12_REFUSED)], ids=["AES128-SHA", "all-refused"])
def test_tls_ciphers_overrides_default(start_daemon, rsa_pki, ciphers):
    """config tls_ciphers replaces the default TLS 1.2 offer: exactly its suites are accepted."""
    d = tls_daemon(start_daemon, rsa_pki, tls_ciphers=ciphers)
    wanted = ciphers.split(":")
    results = {c: tls12_handshake(d, rsa_pki["ca"], c)[0] for c in TLS12_ACCEPTED + TLS12_REFUSED}
    wrong = {c: ok for c, ok in results.items() if ok != (c in wanted)}
    assert not wrong, f"with tls_ciphers={ciphers}, suites accepted (True) / refused (False) wrongly: {wrong}"


def test_version_flag(qpsmtpd_bin, tmp_path):
    """--version prints the program name and a version number."""
    p = run([qpsmtpd_bin, "--version"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert any("qpsmtpd" in line and re.search(r"\d+\.\d+\.\d+", line) for line in p.stdout.splitlines()), p.stdout


@pytest.mark.parametrize("kind", ["missing", "regular-file"])
def test_check_config_refuses_bad_config_dir(qpsmtpd_bin, tmp_path, kind):
    """check-config fails, naming the directory and why, when --config is missing or not a directory."""
    if kind == "missing":
        target, reason = "/nonexistent/dir", "no such file or directory"
    else:
        target, reason = tmp_path / "a-file", "not a directory"
        target.write_text("me\n")
    p = run([qpsmtpd_bin, "check-config", "--config", target], tmp_path)
    assert p.returncode != 0, f"check-config accepted {kind} config dir:\n{p.stdout}{p.stderr}"
    assert str(target) in p.stderr and reason in p.stderr.lower(), p.stderr


def test_serve_refuses_missing_config_dir(qpsmtpd_bin, tmp_path):
    """serve with a missing --config directory exits non-zero before listening."""
    p = run([qpsmtpd_bin, "serve", "--config", "/nonexistent/dir", "--listen", "127.0.0.1:0"], tmp_path)
    assert p.returncode != 0, f"serve started without its config dir:\n{p.stderr}"
    assert "listening on" not in p.stderr + p.stdout, p.stderr
    assert "/nonexistent/dir" in p.stderr, p.stderr


def test_log_lines_carry_time_pid_and_connection_id(start_daemon):
    """Every log line starts with UTC time, pid and connection id; plugin lines carry the session's id."""
    d = start_daemon({"loglevel": "7"})
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<x@elsewhere.example>"), 550)
        c.send_message("s@x.example", ["a@test.example"], b"Subject: log\r\n\r\nbody\r\n")
        expect(c.cmd("QUIT"), 221)
    deadline = time.monotonic() + 5
    while not any("disconnect" in line for line in d.stderr_lines):
        assert time.monotonic() < deadline, f"no disconnect line:\n{d.log_tail()}"
        time.sleep(0.05)
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [line for line in d.stderr_lines if not line.startswith("listening on")]
    for line in lines:
        m = LOG_RE.match(line)
        assert m, f"log line without time/pid/connection id: {line!r}"
        assert m.group(2) == str(d.pid), f"pid {m.group(2)} is not the daemon's ({d.pid}): {line!r}"
        stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        assert abs((now - stamp).total_seconds()) < 300, f"timestamp is not current UTC: {line!r}"
    [connect] = [LOG_RE.match(line).group(3) for line in lines if re.search(r"\]:? connect from ", line)]
    assert connect != "-", "the connect line has no connection id"
    plugin_lines = [line for line in lines if " rcpt_ok: " in line]
    assert plugin_lines, f"rcpt_ok logged nothing of its own at loglevel 7:\n{d.log_tail()}"
    for line in [line for line in lines if "rcpt_ok" in line]:
        assert LOG_RE.match(line).group(3) == connect, f"rcpt_ok line not tagged with session {connect}: {line!r}"


def test_delivered_to_per_recipient_keeps_quoting(daemon):
    """One Delivered-To per recipient in envelope order, after Return-Path; quoted local parts stay quoted."""
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<a@test.example>"), 250)
        expect(c.cmd('RCPT TO:<"john doe"@test.example>'), 250)
        expect(c.cmd("DATA"), 354)
        c.send(b"Subject: two rcpts\r\n\r\nbody\r\n.\r\n")
        expect(c.reply(), 250)
        expect(c.cmd("QUIT"), 221)
    [msg] = daemon.wait_messages(1)
    headers, _ = split_message(msg)
    assert headers[0] == b"Return-Path: <s@x.example>", headers[:4]
    delivered = [h for h in headers if h.lower().startswith(b"delivered-to:")]
    assert headers[1:3] == delivered, f"expected exactly two Delivered-To right after Return-Path: {headers[:5]}"
    assert delivered[0] == b"Delivered-To: a@test.example", delivered
    second = delivered[1].split(b":", 1)[1].strip()
    assert second in (b'"john doe"@test.example', b'"john\\ doe"@test.example'), \
        f"quoted local part lost or mangled: {second!r}"
