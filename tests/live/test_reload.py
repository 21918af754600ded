"""SIGHUP reload against the running daemon: config files and plugins are loaded again for new
connections, open sessions keep what they started with, and a reload with any error changes
nothing and says why."""
from __future__ import annotations

import base64
import signal
import time

from smtp_helpers import expect

RELOADED = "reloaded config"
FAILED = "reload failed: the previous configuration keeps serving"


def hangup_handled(pid: int) -> bool:
    """True once SIGHUP no longer has its default action (which ends the process)."""
    masks = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            masks[key] = value.strip()
    return bool((int(masks["SigCgt"], 16) | int(masks["SigIgn"], 16)) & (1 << (signal.SIGHUP - 1)))


def hangup_and_wait(d, marker: str, timeout: float = 10.0) -> list[str]:
    """SIGHUP, then wait for one more log line containing `marker`; returns the lines logged since."""
    deadline = time.monotonic() + timeout
    while not hangup_handled(d.pid):
        assert time.monotonic() < deadline, "the daemon never took over SIGHUP"
        time.sleep(0.05)
    start = len(d.stderr_lines)
    before = sum(marker in line for line in d.stderr_lines)
    d.proc.send_signal(signal.SIGHUP)
    while sum(marker in line for line in d.stderr_lines) <= before:
        d.assert_alive()
        assert time.monotonic() < deadline, f"no {marker!r} line after SIGHUP:\n{d.log_tail()}"
        time.sleep(0.05)
    return d.stderr_lines[start:]


def wait_for_line(d, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in d.stderr_lines):
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{d.log_tail()}"
        time.sleep(0.05)


def size_of(ehlo) -> str | None:
    return next((line.split()[1] for line in ehlo.lines if line.startswith("SIZE")), None)


def test_reload_applies_rcpthosts_and_settings_to_new_connections_only(start_daemon):
    d = start_daemon({"databytes": "100000"})
    a = d.client()
    expect(a.cmd("EHLO a.example"), 250)
    expect(a.cmd("MAIL FROM:<s@x.example>"), 250)
    expect(a.cmd("RCPT TO:<x@other.example>"), 550, "5.7.1")

    (d.config_dir / "rcpthosts").write_text("test.example\nother.example\n")
    (d.config_dir / "databytes").write_text("200000\n")
    (d.config_dir / "smtpgreeting").write_text("reloaded.example ESMTP after the hangup\n")
    hangup_and_wait(d, RELOADED)

    with d.client(greet=False) as b:
        assert "after the hangup" in b.greeting().text
        assert size_of(b.ehlo()) == "200000"
        expect(b.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(b.cmd("RCPT TO:<x@other.example>"), 250)

    # Session A still runs on the environment it was accepted with: its rcpt_ok instance was
    # created from the old rcpthosts, so other.example is still refused there, and its settings
    # still say SIZE 100000. The old plugins keep working: A's message is delivered.
    expect(a.cmd("NOOP"), 250)
    expect(a.cmd("RCPT TO:<x@other.example>"), 550, "5.7.1")
    expect(a.cmd("RCPT TO:<a@test.example>"), 250)
    expect(a.cmd("DATA"), 354)
    a.send(b"Subject: old session\r\n\r\nbody\r\n.\r\n")
    expect(a.reply(), 250)
    assert size_of(a.ehlo()) == "100000"
    expect(a.cmd("QUIT"), 221)
    assert len(d.wait_messages(1)) == 1


def test_failed_reload_keeps_previous_configuration(start_daemon):
    d = start_daemon()
    (d.config_dir / "rcpthosts").write_text("test.example\nother.example\n")
    hangup_and_wait(d, RELOADED)
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<x@other.example>"), 250)

    # A broken plugins line, and an rcpthosts that would refuse other.example if it were applied.
    plugins = (d.config_dir / "plugins").read_text()
    (d.config_dir / "plugins").write_text(plugins + "no_such_plugin\n")
    (d.config_dir / "rcpthosts").write_text("test.example\n")
    line_number = len((d.config_dir / "plugins").read_text().splitlines())
    logged = hangup_and_wait(d, FAILED)
    assert any(f"plugins:{line_number}: unknown plugin 'no_such_plugin'" in line for line in logged), "\n".join(logged)
    assert not any(RELOADED in line for line in logged), "\n".join(logged)
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<x@other.example>"), 250)

    # Fixed: the next SIGHUP applies the rcpthosts written meanwhile.
    (d.config_dir / "plugins").write_text(plugins)
    hangup_and_wait(d, RELOADED)
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<x@other.example>"), 550, "5.7.1")


def test_reload_errors_are_logged_at_error_level(start_daemon, tmp_path):
    # loglevel 3 shows errors only: both lines must still appear.
    d = start_daemon({"loglevel": "3"})
    (d.config_dir / "spool_dir").write_text(str(tmp_path / "not-a-dir" / "spool") + "\n")
    (tmp_path / "not-a-dir").write_text("a file where the spool's parent should be\n")
    logged = hangup_and_wait(d, FAILED)
    assert any("spool_dir:1: cannot create spool directory" in line for line in logged), "\n".join(logged)
    with d.client() as c:
        c.ehlo()
        c.send_message("s@x.example", ["a@test.example"], b"Subject: still spooling\r\n\r\nbody\r\n")
    assert len(d.wait_messages(1)) == 1


def test_loglevel_change_applies_to_new_sessions(start_daemon):
    d = start_daemon({"loglevel": "6"})
    a = d.client()
    a.ehlo()
    assert not any("<< " in line for line in d.stderr_lines), "loglevel 6 showed debug lines"
    (d.config_dir / "loglevel").write_text("7\n")
    hangup_and_wait(d, RELOADED)
    expect(a.cmd("RSET"), 250)
    with d.client() as b:
        b.ehlo()
        expect(b.cmd("NOOP"), 250)
    wait_for_line(d, "<< noop")
    # The session opened before the reload keeps its loglevel 6 logger.
    assert not any("<< rset" in line for line in d.stderr_lines), d.log_tail()
    a.close()


def test_plugins_edit_and_flat_auth_pw_apply_after_reload(start_daemon):
    # auth_flat_file reads flat_auth_pw when it is created, so a new user needs the reload.
    d = start_daemon({"auth_failure_delay": "0"})
    creds = base64.b64encode(b"\0new@test.example\0pw").decode()
    with d.client() as c:
        assert not any(line.startswith("AUTH") for line in c.ehlo().lines)
    plugins = (d.config_dir / "plugins").read_text()
    (d.config_dir / "plugins").write_text("auth/auth_flat_file\n" + plugins)
    (d.config_dir / "flat_auth_pw").write_text("new@test.example:pw\n")
    hangup_and_wait(d, RELOADED)
    with d.client() as c:
        assert any(line.startswith("AUTH") for line in c.ehlo().lines)
        expect(c.cmd(f"AUTH PLAIN {creds}"), 235)


def test_auth_failures_are_remembered_across_reload(start_daemon):
    d = start_daemon({
        "plugins": "auth/auth_flat_file\nrcpt_ok\nqueue/maildir {maildir}",
        "flat_auth_pw": "user@test.example:right",
        "auth_failure_delay": "0",
        "auth_max_failures_per_ip": "2",
    })
    wrong = base64.b64encode(b"\0user@test.example\0wrong").decode()
    for _ in range(2):
        with d.client() as c:
            c.ehlo()
            expect(c.cmd(f"AUTH PLAIN {wrong}"), 535)
    hangup_and_wait(d, RELOADED)
    with d.client() as c:
        c.ehlo()
        expect(c.cmd(f"AUTH PLAIN {wrong}"), 421, "4.7.0", contains="Too many failed authentications from")


def test_logging_plugins_are_swapped_only_on_success(start_daemon):
    d = start_daemon({"loglevel": "6"})

    def connects() -> int:
        return sum("connect from " in line and "disconnect" not in line for line in d.stderr_lines)

    # logging/warn 5 drops info lines such as "connect from"; a failed reload must not install it.
    plugins = (d.config_dir / "plugins").read_text()
    (d.config_dir / "logging").write_text("logging/warn 5\n")
    (d.config_dir / "plugins").write_text(plugins + "no_such_plugin\n")
    hangup_and_wait(d, FAILED)
    before = connects()
    with d.client() as c:
        expect(c.cmd("QUIT"), 221)
    wait_for_line(d, "connect from")
    deadline = time.monotonic() + 5
    while connects() == before:
        assert time.monotonic() < deadline, f"the stderr fallback stopped after a failed reload:\n{d.log_tail()}"
        time.sleep(0.05)

    (d.config_dir / "plugins").write_text(plugins)
    hangup_and_wait(d, RELOADED)
    before = connects()
    with d.client() as c:
        expect(c.cmd("QUIT"), 221)
    # Lines are written in order: once this reload's notice is in, the session's lines are too.
    hangup_and_wait(d, RELOADED)
    assert connects() == before, f"logging/warn 5 was not installed by the reload:\n{d.log_tail()}"
