"""The milter plugin in front of the scanning milters sites run under Postfix: Debian's
clamav-milter (asking the tests' private clamd) and spamass-milter (asking the tests' private
spamd through spamc), each started by the test on a private socket. EICAR and GTUBE are refused
with the milters' own replies, clean mail gets the headers they add, and clamav-milter's
OnFail Defer with clamd down becomes a 451.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from scanner_daemons import EICAR, EICAR_FOUND_NAME, GTUBE, accepts, clamd, require, running, spamd  # noqa: F401
from smtp_helpers import dot_stuff, expect, free_port, make_message
from test_clamav import with_attachment

SENDER, RCPT = "alice@client.example", "u@test.example"


def plugins(milter_line: str) -> dict[str, str]:
    return {"plugins": f"{milter_line}\nrcpt_ok\nqueue/maildir {{maildir}}", "me": "mx.test.example"}


def send(d, message: bytes):
    c = d.client()
    c.ehlo("client.example")
    return c.send_message(SENDER, [RCPT], dot_stuff(message))


def head_lines(stored: bytes) -> list[str]:
    return stored.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode().split("\n")


def start_clamav_milter(clamd_socket: str):
    """clamav-milter on a free 127.0.0.1 port: infected mail refused with RejectMsg, clean mail
    accepted, its X-Virus-* fields replaced, a clamd it cannot reach answered with a deferral."""
    binary = require("clamav-milter", "apt-get install clamav-milter")
    base = Path(tempfile.mkdtemp(prefix="qpsmtpd-clamav-milter-"))
    port = free_port()
    conf = base / "clamav-milter.conf"
    conf.write_text(f"MilterSocket inet:{port}@127.0.0.1\nForeground true\nPidFile {base / 'milter.pid'}\n"
                    f"ClamdSocket {clamd_socket}\nOnClean Accept\nOnInfected Reject\nRejectMsg Virus found: %v\n"
                    f"OnFail Defer\nAddHeader Replace\nLogFile {base / 'milter.log'}\nLogVerbose true\n"
                    f"TemporaryDirectory {base}\n")
    return port, running([binary, "--config-file", str(conf)], base, what="clamav-milter",
                         ready=lambda: accepts(port),
                         log=lambda: (base / "milter.log").read_text(errors="replace"))


@pytest.fixture(scope="module")
def clamav_milter(clamd):
    port, daemon = start_clamav_milter(f"unix:{clamd.socket_path}")
    with daemon:
        yield f"inet:{port}@127.0.0.1"


@pytest.fixture(scope="module")
def spamass_milter(spamd):
    binary = require("spamass-milter", "apt-get install spamass-milter")
    require("spamc", "apt-get install spamc")
    base = Path(tempfile.mkdtemp(prefix="qpsmtpd-spamass-milter-"))
    sock = base / "milter.sock"
    # -r 10: refuse at a score of 10 (GTUBE scores 1000); after `--`, spamc's own arguments.
    cmd = [binary, "-p", str(sock), "-r", "10", "-P", str(base / "milter.pid"),
           "--", "-d", "127.0.0.1", "-p", str(spamd.port)]
    with running(cmd, base, what="spamass-milter", ready=sock.exists):
        yield f"unix:{sock}"


def test_clamav_milter_refuses_eicar_with_its_reject_message(start_daemon, clamav_milter):
    d = start_daemon(plugins(f"milter clamav {clamav_milter}"))
    reply = send(d, with_attachment(EICAR))
    assert str(reply) == f"550 5.7.1 Virus found: {EICAR_FOUND_NAME}", reply
    assert d.messages() == []


def test_clamav_milter_adds_its_fields_to_clean_mail(start_daemon, clamav_milter):
    d = start_daemon(plugins(f"milter clamav {clamav_milter}"))
    message = make_message(b"nothing to see\n", extra_headers=["X-Virus-Status: Infected (forged upstream)"])
    expect(send(d, message), 250)
    lines = head_lines(d.wait_messages(1)[0])
    assert "X-Virus-Status: Clean" in lines, lines
    assert not any("forged upstream" in line for line in lines), lines  # AddHeader Replace changed it
    scanned = [line for line in lines if line.startswith("X-Virus-Scanned: ")]
    assert len(scanned) == 1 and scanned[0].startswith("X-Virus-Scanned: clamav-milter 1."), lines


def test_clamav_milter_defers_when_clamd_is_down(start_daemon):
    port, daemon = start_clamav_milter(f"tcp:127.0.0.1:{free_port()}")
    with daemon:
        d = start_daemon(plugins(f"milter clamav inet:{port}@127.0.0.1"))
        expect(send(d, with_attachment(b"harmless\n")), 451, enhanced="4.7.1", contains="try again later")
        assert d.messages() == []


def test_spamass_milter_refuses_gtube(start_daemon, spamass_milter):
    d = start_daemon(plugins(f"milter spamass {spamass_milter}"))
    reply = send(d, make_message(b"Buy now.\n" + GTUBE + b"\n"))
    assert str(reply) == "550 5.7.1 Blocked by SpamAssassin", reply
    assert d.messages() == []


def test_spamass_milter_marks_clean_mail(start_daemon, spamass_milter):
    d = start_daemon(plugins(f"milter spamass {spamass_milter}"))
    expect(send(d, make_message(b"Lunch at noon tomorrow?\n")), 250)
    lines = head_lines(d.wait_messages(1)[0])
    assert any(line.startswith("X-Spam-Checker-Version: SpamAssassin 4.") for line in lines), lines
    status = [line for line in lines if line.startswith("X-Spam-Status: ")]
    assert len(status) == 1 and status[0].startswith("X-Spam-Status: No, score="), lines
