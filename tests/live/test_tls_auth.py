"""STARTTLS, implicit TLS and AUTH, driven by real clients: swaks, Python's smtplib, curl and
openssl s_client, plus raw sockets for the attacks (command injection, password guessing)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import signal
import smtplib
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import require_tool
from smtp_helpers import SMTPClient, expect
from tls_helpers import SERVER_NAME, client_context, make_pki, peer_common_name

USER, PASSWORD = "joe@test.example", "s3cret-Passw0rd"
OUTSIDE = "friend@elsewhere.example"


def tls_config(pki: dict[str, Path], **extra: str) -> dict[str, str]:
    config = {
        "me": SERVER_NAME,
        "plugins": f"tls {pki['cert']} {pki['key']}\nauth/auth_flat_file\nrcpt_ok\nqueue/maildir {{maildir}}",
        "flat_auth_pw": f"{USER}:{PASSWORD}",
        "auth_failure_delay": "0",
        "loglevel": "7",
    }
    config.update(extra)
    return config


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki")


def listener(daemon, tls: bool, timeout: float = 5.0) -> tuple[str, int]:
    """The address of the plain or the implicit-TLS listener, once the daemon has logged it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(daemon.stderr_lines):
            if line.startswith("listening on") and ("(TLS)" in line) == tls:
                host, _, port = line.split()[2].rpartition(":")
                return host, int(port)
        time.sleep(0.05)
    raise AssertionError(f"no {'TLS' if tls else 'plain'} listener in log:\n{daemon.log_tail()}")


def starttls(client: SMTPClient, ca: Path) -> ssl.SSLSocket:
    expect(client.cmd("STARTTLS"), 220, "2.0.0")
    assert client.buf == b"", f"bytes after the STARTTLS 220: {client.buf!r}"
    client.sock = client_context(ca).wrap_socket(client.sock, server_hostname=SERVER_NAME)
    return client.sock


def swaks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_tool("swaks"), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_swaks_starttls_auth_relays(start_daemon, pki, mech):
    d = start_daemon(tls_config(pki))
    p = swaks("--server", f"{d.host}:{d.port}", "--tls", "--tls-ca-path", str(pki["ca"]), "--tls-verify",
              "--tls-sni", SERVER_NAME, "--auth", mech, "--auth-user", USER, "--auth-password", PASSWORD,
              "--from", USER, "--to", OUTSIDE, "--body", f"relayed with {mech}")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "235 2.7.0" in p.stdout
    [msg] = d.wait_messages(1)
    assert b"with ESMTPSA (TLSv1." in msg
    assert f"smtp.auth={USER}".encode() in msg
    # Credentials never reach the log, even at debug level.
    log = "\n".join(d.stderr_lines)
    assert PASSWORD not in log
    assert base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode() not in log


def test_swaks_implicit_tls(start_daemon, pki):
    d = start_daemon(tls_config(pki), args=["--tls-listen", "127.0.0.1:0"])
    host, port = listener(d, tls=True)
    p = swaks("--server", f"{host}:{port}", "--tlsc", "--tls-ca-path", str(pki["ca"]), "--tls-verify",
              "--tls-sni", SERVER_NAME, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
              "--from", USER, "--to", OUTSIDE)
    assert p.returncode == 0, p.stdout + p.stderr
    # No STARTTLS on a connection that is already encrypted.
    assert "250-STARTTLS" not in p.stdout and "250 STARTTLS" not in p.stdout
    d.wait_messages(1)


def test_smtplib_starttls_login_and_smtps(start_daemon, pki):
    d = start_daemon(tls_config(pki), args=["--tls-listen", "127.0.0.1:0"])
    ctx = client_context(pki["ca"])
    host, port = listener(d, tls=False)
    with smtplib.SMTP(host, port, local_hostname="client.example", timeout=15) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        s.starttls(context=ctx)
        s.ehlo()
        assert not s.has_extn("starttls")
        assert "PLAIN" in s.esmtp_features["auth"]
        s.login(USER, PASSWORD)
        s.sendmail(USER, [OUTSIDE], b"Subject: smtplib\r\n\r\nvia STARTTLS\r\n")
    host, port = listener(d, tls=True)
    with smtplib.SMTP_SSL(host, port, local_hostname="client.example", context=ctx, timeout=15) as s:
        s.login(USER, PASSWORD)
        s.sendmail(USER, [OUTSIDE], b"Subject: smtps\r\n\r\nvia SMTPS\r\n")
    assert len(d.wait_messages(2)) == 2


def test_curl_ssl_reqd_with_user(start_daemon, pki, tmp_path):
    d = start_daemon(tls_config(pki))
    body = tmp_path / "mail.txt"
    body.write_bytes(b"Subject: curl\r\n\r\nsent by curl\r\n")
    p = subprocess.run([require_tool("curl"), "-sS", "--ssl-reqd", "--cacert", str(pki["ca"]),
                        "--resolve", f"{SERVER_NAME}:{d.port}:127.0.0.1",
                        f"smtp://{SERVER_NAME}:{d.port}", "--user", f"{USER}:{PASSWORD}",
                        "--mail-from", USER, "--mail-rcpt", OUTSIDE, "--upload-file", str(body)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    [msg] = d.wait_messages(1)
    assert msg.endswith(b"sent by curl\n")


def test_openssl_s_client_starttls(start_daemon, pki):
    d = start_daemon(tls_config(pki))
    p = subprocess.run([require_tool("openssl"), "s_client", "-starttls", "smtp", "-connect", f"{d.host}:{d.port}",
                        "-CAfile", str(pki["ca"]), "-verify_return_error", "-servername", SERVER_NAME, "-quiet"],
                       input="EHLO client.example\r\nQUIT\r\n", capture_output=True, text=True, timeout=30)
    assert "250-AUTH PLAIN LOGIN CRAM-MD5" in p.stdout or "250 AUTH PLAIN LOGIN CRAM-MD5" in p.stdout, p.stdout + p.stderr
    assert "STARTTLS" not in p.stdout.split("Hi", 1)[-1]
    assert "221 2.0.0" in p.stdout


def test_starttls_command_injection_is_discarded(start_daemon, pki):
    d = start_daemon(tls_config(pki))
    c = d.client()
    expect(c.cmd("EHLO client.example"), 250)
    # STARTTLS and an injected RSET in one packet: the RSET must never run.
    c.send(b"STARTTLS\r\nRSET\r\n")
    expect(c.reply(), 220)
    assert c.buf == b""
    c.sock = client_context(pki["ca"]).wrap_socket(c.sock, server_hostname=SERVER_NAME)
    # The first reply after the handshake answers our EHLO, not an injected RSET.
    r = c.cmd("EHLO client.example")
    assert r.code == 250 and r.first.startswith(SERVER_NAME), r
    expect(c.cmd("NOOP"), 250)
    assert any("discarded" in line and "after STARTTLS" in line for line in d.stderr_lines), d.log_tail()


def test_starttls_resets_session_state(start_daemon, pki):
    d = start_daemon(tls_config(pki))
    c = d.client()
    expect(c.cmd("EHLO client.example"), 250)
    creds = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    expect(c.cmd(f"AUTH PLAIN {creds}"), 235)
    starttls(c, pki["ca"])
    # HELO is forgotten ...
    expect(c.cmd(f"MAIL FROM:<{USER}>"), 503)
    expect(c.cmd("EHLO client.example"), 250)
    # ... and so are AUTH and the relay permission it gave (qpsmtpd keeps both: a bug we do not copy).
    expect(c.cmd(f"MAIL FROM:<{USER}>"), 250)
    expect(c.cmd(f"RCPT TO:<{OUTSIDE}>"), 550)
    expect(c.cmd("RSET"), 250)
    expect(c.cmd(f"AUTH PLAIN {creds}"), 235)
    # A second STARTTLS is refused.
    expect(c.cmd("STARTTLS"), 503)


def test_tls_before_auth(start_daemon, pki):
    d = start_daemon(tls_config(pki, tls_before_auth="1"))
    c = d.client()
    ehlo = expect(c.cmd("EHLO client.example"), 250)
    assert "STARTTLS" in ehlo.lines and not any(l.startswith("AUTH") for l in ehlo.lines)
    creds = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    expect(c.cmd(f"AUTH PLAIN {creds}"), 530, "5.7.0")
    starttls(c, pki["ca"])
    ehlo = expect(c.cmd("EHLO client.example"), 250)
    assert "AUTH PLAIN LOGIN CRAM-MD5" in ehlo.lines
    expect(c.cmd(f"AUTH PLAIN {creds}"), 235)


def test_auth_every_path_answers(start_daemon, pki):
    d = start_daemon(tls_config(pki, auth_max_failures="10"))
    c = d.client()
    expect(c.cmd("EHLO client.example"), 250)
    # Cancel, empty password, bad base64, unknown mechanism: each gets a reply.
    expect(c.cmd("AUTH PLAIN"), 334)
    expect(c.cmd("*"), 501)
    expect(c.cmd("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0".encode()).decode()), 535)
    expect(c.cmd("AUTH LOGIN"), 334)
    expect(c.cmd("*"), 501)
    expect(c.cmd("AUTH PLAIN !!!notbase64"), 501)
    expect(c.cmd("AUTH GSSAPI"), 504)
    # CRAM-MD5 with the right digest.
    challenge = base64.b64decode(expect(c.cmd("AUTH CRAM-MD5"), 334).first)
    digest = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest()
    expect(c.cmd(base64.b64encode(f"{USER} {digest}".encode()).decode()), 235)
    expect(c.cmd("AUTH PLAIN x"), 503)


@pytest.mark.parametrize("answer", ["DATA", "STARTTLS"])
def test_sasl_answer_that_reads_like_a_verb(start_daemon, pki, answer):
    # Base64 "DATA" is a valid SASL answer; it once froze the session until the idle timeout.
    d = start_daemon(tls_config(pki))
    c = d.client()
    expect(c.cmd("EHLO client.example"), 250)
    expect(c.cmd("AUTH LOGIN"), 334)
    expect(c.cmd(answer, timeout=5), 334)
    expect(c.cmd(base64.b64encode(b"wrong").decode(), timeout=5), 535, "5.7.8")
    expect(c.cmd("NOOP", timeout=5), 250)


def test_password_guessing_is_throttled(start_daemon, pki):
    d = start_daemon(tls_config(pki, auth_failure_delay="0.2", auth_max_failures="3", auth_max_failures_per_ip="5"))
    wrong = base64.b64encode(f"\0{USER}\0wrong".encode()).decode()
    c = d.client()
    expect(c.cmd("EHLO client.example"), 250)
    t0 = time.monotonic()
    # Every failure is told as one (535); the attempt after the last one allowed is refused.
    expect(c.cmd(f"AUTH PLAIN {wrong}"), 535, "5.7.8")
    expect(c.cmd(f"AUTH PLAIN {wrong}"), 535, "5.7.8")
    expect(c.cmd(f"AUTH PLAIN {wrong}"), 535, "5.7.8")
    # 0.2 + 0.4 + 0.8 s of delay: the guesser slows down as it goes.
    assert time.monotonic() - t0 >= 1.3
    expect(c.cmd(f"AUTH PLAIN {wrong}"), 421, "4.7.0")
    assert c.is_closed(timeout=2)
    c2 = d.client()
    expect(c2.cmd("EHLO client.example"), 250)
    expect(c2.cmd(f"AUTH PLAIN {wrong}"), 535)
    expect(c2.cmd(f"AUTH PLAIN {wrong}"), 535)  # the 5th failure from this address is the last allowed
    c3 = d.client()
    expect(c3.cmd("EHLO client.example"), 250)
    right = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    expect(c3.cmd(f"AUTH PLAIN {right}"), 421, "4.7.0")


def test_smtplib_login_with_a_wrong_password_is_told_535(start_daemon, pki):
    # smtplib tries CRAM-MD5, PLAIN and LOGIN in turn: three failures from one typo must still
    # read as "authentication failed", not as a ban (421).
    d = start_daemon(tls_config(pki))
    with smtplib.SMTP(d.host, d.port, local_hostname="client.example", timeout=30) as s:
        s.starttls(context=client_context(pki["ca"]))
        with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
            s.login(USER, "typo-" + PASSWORD)
        assert failure.value.smtp_code == 535, failure.value
    # Three failures from one address are far from its limit: the corrected password works.
    with smtplib.SMTP(d.host, d.port, local_hostname="client.example", timeout=30) as s:
        s.starttls(context=client_context(pki["ca"]))
        assert s.login(USER, PASSWORD)[0] == 235


def test_parallel_guesses_cannot_outrun_a_slow_check(start_daemon, pki):
    # The check takes 2 s (a costly hash); 19 wrong guesses start at once from one address. Only
    # auth_max_failures_per_ip of them may be checked, and the right password sent while they are
    # still being checked is refused too: attempts in flight count against the limit.
    checkpw = REPO / "Tests" / "Fixtures" / "checkpassword.sh"
    d = start_daemon(tls_config(pki, auth_max_failures_per_ip="10", max_connections_per_ip="30",
                                plugins=f"tls {pki['cert']} {pki['key']}\n"
                                        f"auth/auth_checkpassword checkpw {checkpw} true /bin/true\n"
                                        "rcpt_ok\nqueue/maildir {maildir}"))
    clients = []
    for _ in range(20):
        c = d.client()
        expect(c.cmd("EHLO client.example"), 250)
        clients.append(c)

    def attempt(c: SMTPClient, password: str) -> int:
        token = base64.b64encode(b"\0slowcheck@example.com\0" + password.encode()).decode()
        c.send(f"AUTH PLAIN {token}\r\n".encode())
        return c.reply(timeout=30).code

    with ThreadPoolExecutor(max_workers=20) as pool:
        guesses = [pool.submit(attempt, c, "wrong") for c in clients[:19]]
        time.sleep(0.8)  # all 19 are in; the checks take 2 s
        right = attempt(clients[19], "right")
        codes = sorted(g.result() for g in guesses)
    assert right == 421, f"the right password got {right} while guesses were being checked"
    assert codes.count(535) == 10 and codes.count(421) == 9, codes
    assert sum("AUTH PLAIN failed for slowcheck" in line for line in d.stderr_lines) == 10, d.log_tail()


def test_one_account_guessed_from_many_addresses(start_daemon, pki):
    # Guesses for one account spread over addresses 127.0.0.2-4 (all of 127/8 is loopback).
    d = start_daemon(tls_config(pki, auth_max_failures_per_ip="100", auth_max_failures_per_user="3",
                                flat_auth_pw=f"{USER}:{PASSWORD}\nann@test.example:ann-Passw0rd"))
    for n in (2, 3, 4):
        c = d.client(source=(f"127.0.0.{n}", 0))
        expect(c.cmd("EHLO client.example"), 250)
        expect(c.cmd("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0guess{n}".encode()).decode()), 535, "5.7.8")
        c.close()
    c = d.client(source=("127.0.0.5", 0))
    expect(c.cmd("EHLO client.example"), 250)
    # Even the right password: the account is resting, and saying so must not reveal the password was right.
    expect(c.cmd("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()), 454, "4.7.0")
    # Other accounts, and the same address, are not affected.
    expect(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0ann@test.example\0ann-Passw0rd").decode()), 235)


def test_certificate_reload_on_sighup_keeps_sessions(start_daemon, pki, tmp_path):
    d = start_daemon(tls_config(pki))
    old = d.client()
    expect(old.cmd("EHLO client.example"), 250)
    first = d.client()
    expect(first.cmd("EHLO client.example"), 250)
    assert peer_common_name(starttls(first, pki["ca"])) == SERVER_NAME
    # New certificate, same paths; then SIGHUP.
    make_pki(tmp_path / "pki", cn="renewed.test.example")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while not any("reloaded config" in l for l in d.stderr_lines):
        assert time.monotonic() < deadline, d.log_tail()
        time.sleep(0.05)
    expect(old.cmd("NOOP"), 250)  # the open session survived
    fresh = d.client()
    expect(fresh.cmd("EHLO client.example"), 250)
    expect(fresh.cmd("STARTTLS"), 220)
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    ctx.check_hostname = False
    fresh.sock = ctx.wrap_socket(fresh.sock)
    assert peer_common_name(fresh.sock) == "renewed.test.example"


def test_handshake_failure_is_logged_with_reason(start_daemon, pki):
    d = start_daemon(tls_config(pki))
    c = d.client()
    expect(c.cmd("EHLO client.example"), 250)
    expect(c.cmd("STARTTLS"), 220)
    c.send(b"this is not a TLS ClientHello\r\n")
    deadline = time.monotonic() + 5
    while not any("TLS handshake failed:" in l for l in d.stderr_lines):
        assert time.monotonic() < deadline, d.log_tail()
        time.sleep(0.05)
    line = next(l for l in d.stderr_lines if "TLS handshake failed:" in l)
    assert len(line.split("TLS handshake failed:", 1)[1].strip()) > 5, line


def test_only_tls12_and_up_are_offered(start_daemon, pki):
    d = start_daemon(tls_config(pki))
    for version, should_work in (("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)):
        p = subprocess.run([require_tool("openssl"), "s_client", "-starttls", "smtp", version, "-connect", f"{d.host}:{d.port}",
                            "-CAfile", str(pki["ca"]), "-servername", SERVER_NAME],
                           input="QUIT\r\n", capture_output=True, text=True, timeout=30)
        established = "Cipher is" in p.stdout and "Cipher is (NONE)" not in p.stdout
        assert established == should_work, (version, p.stdout[-800:], p.stderr[-800:])


REPO = Path(__file__).resolve().parents[2]


def test_auth_checkpassword_over_smtp(start_daemon, pki):
    # A real checkpassword program, exec'd by the daemon for each attempt.
    checkpw = REPO / "Tests" / "Fixtures" / "checkpassword.sh"
    d = start_daemon(tls_config(pki, plugins=f"tls {pki['cert']} {pki['key']}\n"
                                             f"auth/auth_checkpassword checkpw {checkpw} true /bin/true\n"
                                             "rcpt_ok\nqueue/maildir {maildir}"))
    p = swaks("--server", f"{d.host}:{d.port}", "--tls", "--tls-ca-path", str(pki["ca"]), "--tls-sni", SERVER_NAME,
              "--auth", "LOGIN", "--auth-user", "test@example.com", "--auth-password", "s3cret pass",
              "--from", "test@example.com", "--to", OUTSIDE)
    assert p.returncode == 0, p.stdout + p.stderr
    d.wait_messages(1)
    p = swaks("--server", f"{d.host}:{d.port}", "--tls", "--tls-ca-path", str(pki["ca"]), "--tls-sni", SERVER_NAME,
              "--auth", "PLAIN", "--auth-user", "test@example.com", "--auth-password", "wrong",
              "--from", "test@example.com", "--to", OUTSIDE)
    assert p.returncode != 0 and "535 5.7.8" in p.stdout, p.stdout


def test_auth_imap_against_dovecot(start_daemon, pki, tmp_path):
    require_tool("dovecot")
    home = tmp_path / "dovecot"
    home.mkdir()
    # Dovecot's unprivileged login processes must be able to reach the directory.
    for part in [home, *home.parents]:
        mode = part.stat().st_mode
        if mode & 0o005 != 0o005:
            part.chmod(mode | 0o005)
    script = REPO / "tests" / "fixtures" / "dovecot.sh"
    started = subprocess.run([str(script), "start", str(home), "imapuser@example.com:imap-secret"],
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stdout + started.stderr
    port = int(started.stdout.split()[-1])
    try:
        d = start_daemon(tls_config(pki, plugins=f"tls {pki['cert']} {pki['key']}\n"
                                                 f"auth/auth_imap 127.0.0.1 {port}\nrcpt_ok\nqueue/maildir {{maildir}}"))
        ctx = client_context(pki["ca"])
        with smtplib.SMTP(d.host, d.port, local_hostname="client.example", timeout=30) as s:
            s.starttls(context=ctx)
            s.login("imapuser@example.com", "imap-secret")
            s.sendmail("imapuser@example.com", [OUTSIDE], b"Subject: imap auth\r\n\r\nok\r\n")
        d.wait_messages(1)
        with smtplib.SMTP(d.host, d.port, local_hostname="client.example", timeout=30) as s:
            s.starttls(context=ctx)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("imapuser@example.com", "not-the-password")
    finally:
        subprocess.run([str(script), "stop", str(home)], capture_output=True, timeout=30)
