"""The command line: check-config, plugins, and signals."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest

from conftest import MEASUREMENTS, REPO, write_config
from smtp_helpers import expect


def run(cmd: list[str], cwd, timeout: float = 30) -> tuple[int, str]:
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def test_check_config_accepts_good_config(qpsmtpd_bin, tmp_path):
    cfg = write_config(tmp_path / "config", {
        "me": "localhost",
        "plugins": "# comment line\n\ncount_unrecognized_commands 4\nrelay\nrcpt_ok\nqueue/maildir ./Maildir",
        "rcpthosts": "test.example",
        "relayclients": "127.0.0.1",
    })
    rc, out = run([qpsmtpd_bin, "check-config", "--config", str(cfg)], tmp_path)
    assert rc == 0, f"check-config refused a good config ({rc}):\n{out}"


def test_check_config_accepts_config_sample(qpsmtpd_bin, tmp_path):
    shutil.copytree(REPO / "config.sample", tmp_path / "config.sample")
    rc, out = run([qpsmtpd_bin, "check-config", "--config", "config.sample"], tmp_path)
    assert rc == 0, f"config.sample does not pass check-config ({rc}):\n{out}"


def test_check_config_unknown_plugin(qpsmtpd_bin, tmp_path):
    cfg = write_config(tmp_path / "config", {
        "me": "localhost",
        "plugins": "# line 1 is a comment\nrcpt_ok\nno_such_plugin_xyz arg\nqueue/maildir ./Maildir",
    })
    rc, out = run([qpsmtpd_bin, "check-config", "--config", str(cfg)], tmp_path)
    assert rc != 0, f"check-config accepted an unknown plugin:\n{out}"
    assert "plugins:3" in out, f"message should name plugins:3:\n{out}"
    assert "no_such_plugin_xyz" in out, f"message should name the plugin:\n{out}"


@pytest.mark.parametrize("line", ["count_unrecognized_commands many", "count_unrecognized_commands -1"])
def test_check_config_bad_argument(qpsmtpd_bin, tmp_path, line):
    cfg = write_config(tmp_path / "config", {
        "me": "localhost",
        "plugins": f"rcpt_ok\n{line}\nqueue/maildir ./Maildir",
    })
    rc, out = run([qpsmtpd_bin, "check-config", "--config", str(cfg)], tmp_path)
    assert rc != 0, f"check-config accepted `{line}`:\n{out}"
    assert "plugins:2" in out, f"message should name plugins:2:\n{out}"
    assert "count_unrecognized_commands" in out, f"message should name the plugin:\n{out}"


def test_serve_refuses_bad_config(qpsmtpd_bin, tmp_path):
    cfg = write_config(tmp_path / "config", {"plugins": "rcpt_ok\nno_such_plugin_xyz"})
    p = subprocess.run([qpsmtpd_bin, "serve", "--config", str(cfg), "--listen", "127.0.0.1:0"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=20)
    assert p.returncode != 0, "serve started with an unknown plugin"
    assert "plugins:2" in p.stderr and "no_such_plugin_xyz" in p.stderr, p.stderr


PLUGIN_HOOKS = {
    "relay": ["connect"],
    "rcpt_ok": ["rcpt"],
    "queue/maildir": ["queue"],
    "count_unrecognized_commands": ["unrecognized_command"],
    "dont_require_anglebrackets": ["mail_pre", "rcpt_pre"],
    "logging/warn": ["logging"],
}


def test_plugins_subcommand_lists_builtins_with_hooks(qpsmtpd_bin, tmp_path):
    rc, out = run([qpsmtpd_bin, "plugins"], tmp_path)
    assert rc == 0, out
    for name, hooks in PLUGIN_HOOKS.items():
        lines = out.splitlines()
        idx = next((i for i, line in enumerate(lines) if line.split() and line.split()[0].rstrip(":") == name), None)
        assert idx is not None, f"`qpsmtpd plugins` does not list {name} at the start of a line:\n{out}"
        # The entry is the name's line plus any indented continuation lines.
        entry = [lines[idx]]
        for line in lines[idx + 1:]:
            if not line.strip() or not line[:1].isspace():
                break
            entry.append(line)
        text = " ".join(entry)
        for hook in hooks:
            assert hook in text, f"{name}'s entry does not mention hook {hook}: {entry}"


@pytest.mark.parametrize("state", ["after-ehlo", "in-transaction"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_with_open_session(start_daemon, sig, state):
    d = start_daemon()
    c = d.client()
    c.ehlo()
    if state == "in-transaction":
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
    rc, took = d.signal_and_wait(sig, timeout=10)
    msg = f"{signal.Signals(sig).name} with an open session ({state}): exit {rc} after {took:.2f}s"
    print(msg)
    MEASUREMENTS.append(msg)
    assert rc == 0, f"{msg}\n{d.log_tail()}"
    assert took < 5, msg
    # The session was ended: a 421 (optional) and then EOF.
    leftover = c.wait_closed(timeout=2)
    assert leftover == b"" or leftover.startswith(b"421"), f"after shutdown the client got {leftover!r}"
    c.close()


def test_signal_when_idle_exits_quickly(start_daemon):
    d = start_daemon()
    with d.client() as c:
        expect(c.cmd("QUIT"), 221)
    time.sleep(0.1)
    rc, took = d.signal_and_wait(signal.SIGTERM)
    assert rc == 0 and took < 3, f"idle SIGTERM: exit {rc} after {took:.2f}s"
