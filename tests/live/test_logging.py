"""The logging plugins in the running daemon: logging/file (JSON lines) and logging/syslog
(to a syslog socket this test binds, never the system's /dev/log), and SIGHUP reopening files."""
from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import time

from test_reload import hangup_handled


def wait_for(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def json_lines(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_file_and_syslog_logging_and_reopen_on_hangup(start_daemon, tmp_path):
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    log_file = log_dir / "qpsmtpd.json"
    sock_path = str(tmp_path / "syslog.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(sock_path)
    receiver.settimeout(5)
    d = start_daemon(config={
        "loglevel": "4",  # the logging plugins' LOGINFO still gets info records
        "logging": f"logging/file loglevel LOGINFO format json {log_file}\n"
                   f"logging/syslog loglevel LOGINFO facility local1 logsock unix,{sock_path}\n",
    })
    host, port = d.addresses[0]
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.helo("client.test")
        client.sendmail("sender@client.test", ["someone@test.example"], b"Subject: hi\r\n\r\nbody\r\n")

    lines = wait_for(lambda: [l for l in json_lines(log_file) if "disconnect" in l["message"]] and json_lines(log_file),
                     "the session's lines in the JSON log")
    session = [l for l in lines if l["connection"] is not None]
    assert session, lines
    assert all(l["pid"] == d.pid for l in lines)
    assert all(set(l) == {"time", "pid", "connection", "hook", "plugin", "level", "severity", "message"} for l in lines)
    assert any("connect from 127.0.0.1" in l["message"] and l["level"] == "info" for l in session), session

    # local1 (17) * 8 + info (6) = 142.
    datagram = receiver.recv(65536).decode()
    assert datagram.startswith("<142>"), datagram
    assert f" qpsmtpd[{d.pid}]: " in datagram

    # logrotate moves the file away; SIGHUP makes the plugins anew, which open the path again.
    os.rename(log_file, log_dir / "qpsmtpd.json.1")
    wait_for(lambda: hangup_handled(d.pid), "the daemon to take over SIGHUP")
    d.proc.send_signal(signal.SIGHUP)
    reloaded = wait_for(lambda: [l for l in json_lines(log_file) if "reloaded config" in l["message"]],
                        "'reloaded config' in a new log file")
    assert reloaded
    receiver.close()
