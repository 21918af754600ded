"""The persistent state store through the real daemon: greylisting and karma state
survive a restart (the SQLite file in `state_dir`), and a state directory that cannot
be used stops start-up with the reason."""

from __future__ import annotations

import os
import stat
import subprocess
import time

from conftest import write_config
from smtp_helpers import crlf, expect, make_message


def greylist_config(state_dir, extra_plugins=""):
    return {
        "state_dir": str(state_dir),
        "plugins": f"{extra_plugins}greylisting black_timeout 2\nrcpt_ok\nqueue/maildir {{maildir}}",
    }


def test_greylisted_triplet_is_accepted_after_restart(start_daemon, tmp_path):
    state_dir = tmp_path / "state"
    first = start_daemon(config=greylist_config(state_dir))
    with first.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<a@example.org>"), 450, "4.7.1", "This mail is temporarily denied")
        # Retried too soon: refused again.
        expect(c.cmd("MAIL FROM:<a@example.org>"), 450, "4.7.1")
        c.cmd("QUIT")
    rc, _ = first.signal_and_wait()
    assert rc == 0
    mode = stat.S_IMODE(os.stat(state_dir).st_mode)
    assert mode == 0o700, oct(mode)
    assert (state_dir / "state.sqlite").is_file()

    time.sleep(2.2)  # past the black timeout, within the grey one
    second = start_daemon(config=greylist_config(state_dir))
    with second.client() as c:
        c.ehlo()
        reply = c.send_message("a@example.org", ["u@test.example"], crlf(make_message(b"hello after restart\n")))
        expect(reply, 250)
        c.cmd("QUIT")
    assert len(second.wait_messages(1)) == 1


def test_karma_penalty_box_survives_restart(start_daemon, tmp_path):
    state_dir = tmp_path / "state"
    config = {"state_dir": str(state_dir), "plugins": "karma reject connect\nrcpt_ok\nqueue/maildir {maildir}"}
    first = start_daemon(config=config)
    with first.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<a@example.org>"), 250)
        expect(c.cmd("RCPT TO:<u@elsewhere.example>"), 550)  # a refusal costs karma
        c.cmd("QUIT")
        c.wait_closed()
    time.sleep(0.3)  # the disconnect hook records the connection after the close
    rc, _ = first.signal_and_wait()
    assert rc == 0

    second = start_daemon(config=config)
    with second.client(greet=False) as c:
        expect(c.reply(), 554, "5.7.1", "You were naughty. You cannot connect for 1.00 more days.")
        assert c.is_closed(2.0)


def test_state_survives_sighup_reload(start_daemon, tmp_path):
    import signal

    state_dir = tmp_path / "state"
    daemon = start_daemon(config=greylist_config(state_dir))
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<a@example.org>"), 450, "4.7.1")
        c.cmd("QUIT")
    daemon.proc.send_signal(signal.SIGHUP)
    time.sleep(2.2)
    daemon.assert_alive()
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<a@example.org>"), 250)
        c.cmd("QUIT")


def serve_fails(qpsmtpd_bin, tmp_path, state_dir) -> tuple[int, str]:
    cfg = write_config(tmp_path / "config", {
        "me": "localhost",
        "plugins": "rcpt_ok",
        "spool_dir": str(tmp_path / "spool"),
        "state_dir": str(state_dir),
    })
    p = subprocess.run([qpsmtpd_bin, "serve", "--config", str(cfg), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


def test_corrupt_state_database_stops_start_up(qpsmtpd_bin, tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    (state_dir / "state.sqlite").write_bytes(b"not a database at all\n" * 100)
    rc, err = serve_fails(qpsmtpd_bin, tmp_path, state_dir)
    assert rc == 78, err
    assert f"state database {state_dir}/state.sqlite" in err
    assert "not a database" in err


def test_unusable_state_directory_stops_start_up(qpsmtpd_bin, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory\n")
    rc, err = serve_fails(qpsmtpd_bin, tmp_path, blocker / "state")
    assert rc == 78, err
    assert f"cannot create state directory {blocker}/state: Not a directory" in err
