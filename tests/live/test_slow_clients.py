"""Slow clients give their slots back: the timeout bounds a whole command line (not each read),
a message must keep up `min_data_rate` after a grace, and under stress (most of max_connections
in use) new sessions get `stress_timeout`. Each answers 421 4.4.2 and closes."""
from __future__ import annotations

import time

from smtp_helpers import SMTPClient, expect


def dribble(c: SMTPClient, data: bytes, piece: int, pause: float) -> None:
    """Send `data` `piece` octets at a time; stop once the daemon has hung up."""
    for i in range(0, len(data), piece):
        try:
            c.send(data[i:i + piece])
        except OSError:
            return
        time.sleep(pause)


def test_a_byte_now_and_then_does_not_hold_a_slot(start_daemon):
    d = start_daemon({"timeout": "2"})
    c = d.client()
    t0 = time.monotonic()
    # "EHLO client.example\r\n" at one octet every 0.3 s: ~6 s for the line, never 2 s idle.
    dribble(c, b"EHLO client.example\r\n", 1, 0.3)
    reply = c.reply(timeout=10)
    expect(reply, 421, "4.4.2")
    assert time.monotonic() - t0 < 4, "the deadline should fall about 2 s after the greeting"
    assert c.is_closed(timeout=2)


def test_a_message_below_the_minimum_rate_is_cut_off(start_daemon):
    d = start_daemon({"timeout": "2", "min_data_rate": "200"})
    c = d.client()
    c.ehlo()
    expect(c.cmd("MAIL FROM:<s@example.org>"), 250)
    expect(c.cmd("RCPT TO:<a@test.example>"), 250)
    expect(c.cmd("DATA"), 354)
    # 20 octets a second, a tenth of the rate: cut off soon after the 2 s grace.
    dribble(c, b"Subject: slow\r\n\r\n" + b"x" * 200 + b"\r\n.\r\n", 4, 0.2)
    expect(c.reply(timeout=10), 421, "4.4.2", contains="Message not received in time")
    assert d.messages() == []


def test_stress_gives_new_sessions_the_short_timeout(start_daemon):
    d = start_daemon({"timeout": "60", "stress_timeout": "1", "stress_threshold": "50"},
                     args=["--max-connections", "4"])
    early = [d.client(), d.client()]  # half of the slots: not yet stress (more than 50% is)
    late = d.client()
    t0 = time.monotonic()
    expect(late.reply(timeout=10), 421, "4.4.2")
    assert time.monotonic() - t0 < 4
    # The sessions from before the stress keep the configured timeout.
    expect(early[0].cmd("NOOP"), 250)
    # The log line is read by another thread; give it a moment to arrive.
    deadline = time.monotonic() + 5
    while not any("timeout" in line for line in d.stderr_lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("timeout" in line for line in d.stderr_lines), d.log_tail()
