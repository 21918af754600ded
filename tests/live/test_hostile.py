"""Hostile and out-of-order input over raw sockets, and the limits that
protect the daemon: line length, bare LF/CR and SMTP smuggling, early talkers,
pipelined floods, recipients, idle timeout, connection limits."""

from __future__ import annotations

import socket
import time

import pytest

from smtp_helpers import SMTPClient, dot_stuff, expect, expect_enhanced_class, make_message, split_message


# -- command lines ---------------------------------------------------------

@pytest.mark.parametrize("length", [600, 4096, 100_000])
def test_overlong_command_line(daemon, length):
    with daemon.client() as c:
        c.ehlo()
        c.send(b"NOOP " + b"x" * (length - 5) + b"\r\nNOOP\r\n")
        expect(c.reply(), 500, "5.5.2")
        # Exactly one reply for the long line, then the session carries on in step:
        # the NOOP sent right after it is answered.
        try:
            r = c.reply(timeout=5)
        except TimeoutError:
            raise AssertionError("no reply within 5s to the NOOP that followed the overlong line "
                                 "(the command after an overlong line was swallowed)") from None
        expect(r, 250)
        expect(c.cmd("QUIT"), 221)


def test_command_line_limit_is_512_octets_with_crlf(daemon):
    with daemon.client() as c:
        expect(c.cmd(b"NOOP " + b"x" * 505), 250)  # 512 octets with CRLF
    with daemon.client() as c:
        expect(c.cmd(b"NOOP " + b"x" * 506), 500, "5.5.2")  # 513


def test_command_line_within_limit_is_accepted(daemon):
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd(b"NOOP " + b"x" * 400), 250)


def test_max_line_length_is_configurable(start_daemon):
    d = start_daemon(config={"max_line_length": "2000"})
    with d.client() as c:
        expect(c.cmd(b"NOOP " + b"x" * 1500), 250)
        expect(c.cmd(b"NOOP " + b"x" * 2500), 500, "5.5.2")
        expect(c.cmd("NOOP"), 250)


@pytest.mark.parametrize("line", [b"NO\x00OP", b"HELO a\x00b.example", b"MAIL FROM:<a\x00b@x.example>", b"\x00"],
                         ids=["verb", "helo", "mail", "nul-only"])
def test_nul_bytes_in_command(daemon, line):
    with daemon.client() as c:
        c.ehlo()
        r = c.cmd(line)
        assert 500 <= r.code < 600, f"command with NUL accepted: {line!r} -> {r}"
        expect_enhanced_class(r)
        expect(c.cmd("NOOP"), 250)
        expect(c.cmd("QUIT"), 221)
    # The daemon is still serving.
    with daemon.client() as c:
        expect(c.cmd("NOOP"), 250)


def test_unknown_command(daemon):
    with daemon.client() as c:
        expect(c.cmd("FROBNICATE now"), 500, "5.5.1")
        expect(c.cmd("EXPN staff"), 500, "5.5.1")
        expect(c.cmd("NOOP"), 250)


def test_mail_before_helo(daemon):
    with daemon.client() as c:
        r = expect(c.cmd("MAIL FROM:<s@x.example>"), 503)
        expect_enhanced_class(r)
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)


def test_data_without_rcpt_and_without_mail(daemon):
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd("DATA"), 503, "5.5.1")
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("DATA"), 503, "5.5.1")
        # The session is still in command mode: a message sent now works.
        expect(c.cmd("RCPT TO:<u@test.example>"), 250)
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(b"after 503\n")) + b".\r\n")
        expect(c.reply(), 250, "2.0.0")
    daemon.wait_messages(1)


def test_commands_before_greeting(daemon):
    """An early talker: the first thing the daemon sends must still be the
    220 greeting (or a refusal), never an answer to the early command."""
    with SMTPClient(daemon.host, daemon.port) as c:
        c.send(b"EHLO early.example\r\nMAIL FROM:<s@x.example>\r\n")
        first = c.reply()
        assert first.code in (220, 421, 554), f"first reply to an early talker: {first}"
        if first.code == 220:
            # Either answered in order, or refused; the session must not be out of step.
            r = c.reply()
            assert r.code in (250, 503, 554, 421, 550), f"reply to early EHLO: {r}"
    with daemon.client() as c:
        expect(c.cmd("NOOP"), 250)


def test_half_close_after_pipelined_commands(daemon):
    """A client may send its last commands and shut down its sending side:
    every command already sent must still be answered."""
    with daemon.client() as c:
        c.send(b"EHLO halfclose.example\r\nNOOP\r\nQUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        expect(c.reply(), 250)
        expect(c.reply(), 250)
        expect(c.reply(), 221)
        c.wait_closed()


def test_one_thousand_pipelined_noops(daemon):
    with daemon.client(timeout=30) as c:
        c.ehlo()
        c.send(b"NOOP\r\n" * 1000)
        replies = c.replies(1000)
        bad = [(i, str(r)) for i, r in enumerate(replies) if r.code != 250]
        assert not bad, f"non-250 replies among 1000 NOOPs: {bad[:5]}"
        expect(c.cmd("QUIT"), 221)
        c.wait_closed()


# -- DATA: bare LF / CR and SMTP smuggling --------------------------------

def _open_data(c: SMTPClient) -> None:
    c.ehlo()
    expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
    expect(c.cmd("RCPT TO:<u@test.example>"), 250)
    expect(c.cmd("DATA"), 354)


def _refused_then_clean_message(d, c: SMTPClient) -> None:
    """After a refused message: the session continues, a clean message is
    accepted, and it is the only one delivered."""
    clean = make_message(b"clean follow-up\n", subject="clean")
    expect(c.send_message("s@x.example", ["u@test.example"], dot_stuff(clean)), 250, "2.0.0")
    expect(c.cmd("QUIT"), 221)
    c.wait_closed()
    time.sleep(0.3)
    msgs = d.wait_messages(1)
    assert split_message(msgs[0])[1] == b"clean follow-up\n", msgs[0][:500]
    assert b"smuggled" not in msgs[0]


@pytest.mark.parametrize("body", [
    b"Subject: t\r\n\r\nline one\nline two\r\n",
    b"Subject: t\r\n\r\nline one\rline two\r\n",
    b"Subject: t\r\n\r\ntwo bare LFs\n\nthen CRLF\r\n",
    b"Subject: t\nFrom: <a@x.example>\r\n\r\nbare LF in the header\r\n",
], ids=["bare-LF", "bare-CR", "two-bare-LFs", "bare-LF-header"])
def test_bare_line_ends_refused(daemon, body):
    with daemon.client() as c:
        _open_data(c)
        c.send(body + b".\r\n")
        r = expect(c.reply(), 550, "5.6.0")
        assert "bare" in r.text.lower(), f"550 should say it is about bare LF/CR: {r}"
        _refused_then_clean_message(daemon, c)


SMUGGLE_TAIL = (b"MAIL FROM:<evil@x.example>\r\n"
                b"RCPT TO:<victim@test.example>\r\n"
                b"DATA\r\n"
                b"Subject: smuggled\r\n"
                b"\r\n"
                b"smuggled message\r\n")


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n"],
                         ids=["LF.LF", "LF.CRLF", "CR.CR", "CRLF.LF"])
def test_smtp_smuggling_refused(daemon, fake_end):
    with daemon.client() as c:
        _open_data(c)
        c.send(b"Subject: carrier\r\n\r\nfirst part" + fake_end + SMUGGLE_TAIL + b".\r\n")
        r = c.reply()
        # One message, containing a bare LF or CR: refused as a whole. A 250 here
        # means the fake terminator ended DATA and the smuggled commands ran.
        expect(r, 550, "5.6.0")
        assert "bare" in r.text.lower(), r
        # Nothing more: no replies to smuggled MAIL/RCPT/DATA are waiting.
        expect(c.cmd("NOOP"), 250)
        _refused_then_clean_message(daemon, c)


def test_connection_lost_during_data_delivers_nothing(daemon):
    with daemon.client() as c:
        _open_data(c)
        c.send(b"Subject: cut\r\n\r\nthis message never ends\r\n")
    time.sleep(0.5)
    daemon.assert_alive()
    assert daemon.messages() == []


# -- recipients, size, time ------------------------------------------------

def test_too_many_recipients(start_daemon):
    d = start_daemon(config={"max_rcpt": "3"})
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        for i in range(3):
            expect(c.cmd(f"RCPT TO:<u{i}@test.example>"), 250)
        expect(c.cmd("RCPT TO:<u3@test.example>"), 452, "4.5.3")
        expect(c.cmd("RCPT TO:<u4@test.example>"), 452, "4.5.3")
        expect(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(b"three recipients\n")) + b".\r\n")
        expect(c.reply(), 250, "2.0.0")
        # The limit is per message: the next transaction starts from zero.
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<again@test.example>"), 250)
    d.wait_messages(1)


def test_rcpt_without_rcpt_plugin_is_temporary_failure(start_daemon, tmp_path):
    d = start_daemon(config={"plugins": "queue/maildir {maildir}"})
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        r = expect(c.cmd("RCPT TO:<u@test.example>"), 450, contains="No plugin decided if relaying is allowed")
        expect_enhanced_class(r)


def test_rcpt_ok_refuses_foreign_domains(daemon):
    with daemon.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<u@elsewhere.example>"), 550, "5.7.1")
        expect(c.cmd("RCPT TO:<u@TEST.EXAMPLE>"), 250, "2.1.5")
        expect(c.cmd("RCPT TO:<postmaster@localhost>"), 250, "2.1.5")


def test_relay_client_may_relay(start_daemon):
    d = start_daemon(config={"plugins": "relay\nrcpt_ok\nqueue/maildir {maildir}",
                             "relayclients": "127.0.0.1"})
    with d.client() as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s@x.example>"), 250)
        expect(c.cmd("RCPT TO:<u@elsewhere.example>"), 250, "2.1.5")


def test_idle_timeout(start_daemon):
    d = start_daemon(config={"timeout": "1"})
    with d.client() as c:
        t0 = time.monotonic()
        r = c.reply(timeout=10)
        waited = time.monotonic() - t0
        expect(r, 421, "4.4.2")
        assert 0.5 < waited < 6, f"timeout reply after {waited:.1f}s with timeout=1"
        c.wait_closed()


def test_idle_timeout_during_data(start_daemon):
    d = start_daemon(config={"timeout": "1"})
    with d.client() as c:
        _open_data(c)
        c.send(b"Subject: stalled\r\n\r\nhalf a message\r\n")
        expect(c.reply(timeout=10), 421, "4.4.2")
        c.wait_closed()
    time.sleep(0.3)
    assert d.messages() == []


def test_activity_resets_idle_timeout(start_daemon):
    d = start_daemon(config={"timeout": "2"})
    with d.client() as c:
        for _ in range(4):
            time.sleep(1)
            expect(c.cmd("NOOP"), 250)


# -- connection limits -----------------------------------------------------

@pytest.mark.parametrize("how", ["flag-per-ip", "config-per-ip", "flag-max-connections", "config-max-connections"])
def test_connection_limits(start_daemon, how):
    config, args = {}, []
    if how == "flag-per-ip":
        args = ["--max-per-ip", "2"]
    elif how == "config-per-ip":
        config = {"max_connections_per_ip": "2"}
    elif how == "flag-max-connections":
        args = ["--max-connections", "2"]
    else:
        config = {"max_connections": "2"}
    d = start_daemon(config=config, args=args)
    a = d.client()
    b = d.client()
    with SMTPClient(d.host, d.port) as third:
        expect(third.reply(), 421, "4.7.0")
        third.wait_closed()
    # The two admitted sessions still work.
    expect(a.cmd("NOOP"), 250)
    expect(b.cmd("NOOP"), 250)
    # Closing one frees its slot.
    expect(a.cmd("QUIT"), 221)
    a.wait_closed()
    a.close()
    deadline = time.monotonic() + 5
    while True:
        with SMTPClient(d.host, d.port) as again:
            r = again.reply()
            if r.code == 220:
                break
            assert time.monotonic() < deadline, f"slot not freed after QUIT: {r}"
        time.sleep(0.2)
    b.close()


@pytest.mark.parametrize("limit", [3, 4])
def test_count_unrecognized_commands(start_daemon, limit):
    d = start_daemon(config={"plugins": f"count_unrecognized_commands {limit}\nrcpt_ok\nqueue/maildir {{maildir}}"})
    with d.client() as c:
        for i in range(limit - 1):
            expect(c.cmd(f"NONSENSE{i}"), 500, "5.5.1")
        # Known commands do not count.
        expect(c.cmd("NOOP"), 250)
        r = c.cmd("NONSENSE-LAST")
        expect(r, 521)
        expect_enhanced_class(r)
        c.wait_closed()


def test_daemon_survives_abrupt_disconnects(daemon):
    for data in [b"", b"EHLO x\r\n", b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@test.example>\r\nDATA\r\nxx"]:
        s = socket.create_connection((daemon.host, daemon.port), timeout=5)
        if data:
            s.sendall(data)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        s.close()
    time.sleep(0.3)
    daemon.assert_alive()
    with daemon.client() as c:
        expect(c.cmd("NOOP"), 250)
