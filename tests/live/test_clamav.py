"""virus/clamdscan against a real clamd (Debian's clamav-daemon, installed by .ci/run; no
freshclam, no internet): a private clamd on a 127.0.0.1 port and a UNIX socket, with a config
and a signature database (an .ndb body signature for the EICAR test file) written into the
test's directory. EICAR is found in a base64 MIME attachment and in a plain body, a clean
message passes with X-Virus-* fields, and a clamd that is down lets mail through or defers it.
"""
from __future__ import annotations

import base64
import shutil
import subprocess
import time

import pytest

from conftest import MEASUREMENTS, write_config
from scanner_fakes import FakePeer
from scanner_daemons import EICAR, EICAR_FOUND_NAME as FOUND_NAME, clamd  # noqa: F401 (clamd is a fixture)
from smtp_helpers import dot_stuff, expect, free_port, make_message

SENDER, RCPT = "alice@client.example", "u@test.example"


def plugins(line: str) -> str:
    return f"rcpt_ok\n{line}\nqueue/maildir {{maildir}}"


def send(d, message: bytes):
    c = d.client()
    c.ehlo()
    return c.send_message(SENDER, [RCPT], dot_stuff(message))


def with_attachment(payload: bytes) -> bytes:
    encoded = base64.encodebytes(payload)
    return (b"Subject: report\nFrom: <s@x.example>\nTo: <u@test.example>\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"part-1\"\n\n"
            b"--part-1\nContent-Type: text/plain\n\nSee the attachment.\n"
            b"--part-1\nContent-Type: application/octet-stream; name=\"eicar.com\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + encoded + b"--part-1--\n")


def head(stored: bytes) -> str:
    return stored.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode()


def test_eicar_in_a_base64_attachment_is_refused(start_daemon, clamd):
    d = start_daemon({"plugins": plugins(f"virus/clamdscan clamd_socket {clamd.socket_path}")})
    assert EICAR not in with_attachment(EICAR)  # only the encoded form travels
    expect(send(d, with_attachment(EICAR)), 554, contains=f"Virus found: {FOUND_NAME}")
    assert d.messages() == []


def test_eicar_in_a_plain_body_with_scan_all_over_tcp(start_daemon, clamd):
    d = start_daemon({"plugins": plugins(f"virus/clamdscan clamd_port {clamd.port} clamd_host 127.0.0.1 scan_all 1")})
    expect(send(d, make_message(EICAR + b"\n")), 554, contains=f"Virus found: {FOUND_NAME}")
    # Without scan_all a message without parts is not scanned, as in qpsmtpd.
    d2 = start_daemon({"plugins": plugins(f"virus/clamdscan clamd_port {clamd.port}")})
    expect(send(d2, make_message(EICAR + b"\n")), 250)
    assert "X-Virus-" not in head(d2.wait_messages(1)[0])


def test_clean_message_passes_with_x_virus_fields(start_daemon, clamd):
    d = start_daemon({"plugins": plugins(f"virus/clamdscan clamd_socket {clamd.socket_path}"), "me": "mx.test.example"})
    expect(send(d, with_attachment(b"just a harmless file\n")), 250)
    lines = head(d.wait_messages(1)[0]).split("\n")
    assert "X-Virus-Found: No" in lines, lines
    checked = [l for l in lines if l.startswith("X-Virus-Checked: ")]
    assert len(checked) == 1 and checked[0].startswith("X-Virus-Checked: Checked by ClamAV 1.") \
        and checked[0].endswith(" on mx.test.example"), lines


def test_deny_viruses_no_marks_the_message(start_daemon, clamd):
    d = start_daemon({"plugins": plugins(f"virus/clamdscan deny_viruses no scan_all 1 clamd_socket {clamd.socket_path}")})
    expect(send(d, make_message(EICAR + b"\n")), 250)
    lines = head(d.wait_messages(1)[0]).split("\n")
    assert "X-Virus-Found: Yes" in lines and f"X-Virus-Details: {FOUND_NAME}" in lines, lines
    assert not any(l.startswith("X-Virus-Checked") for l in lines)


def test_clamd_down_passes_by_default_and_defers_when_asked(start_daemon, tmp_path):
    missing = tmp_path / "no-clamd.sock"
    d = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 clamd_socket {missing}")})
    expect(send(d, make_message(EICAR + b"\n")), 250)
    d2 = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 defer_on_error yes clamd_port {free_port()}")})
    expect(send(d2, make_message(b"hello\n")), 451, "4.7.1", contains="Unable to scan for viruses")
    assert d2.messages() == []


def test_message_over_max_size_is_not_scanned(start_daemon, clamd):
    d = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 max_size 1 clamd_socket {clamd.socket_path}")})
    expect(send(d, make_message(EICAR + b"\n" + b"padding line\n" * 200)), 250)


def test_clamav_command_line_through_clamdscan(start_daemon, clamd):
    """virus/clamav runs Debian's clamdscan, which reads our private clamd.conf and asks that clamd."""
    clamdscan = shutil.which("clamdscan")
    assert clamdscan, "clamdscan is missing (apt-get install clamdscan, see .ci/run)"
    line = f"virus/clamav clamscan_path={clamdscan} clamd_conf={clamd.conf}"
    d = start_daemon({"plugins": plugins(line + " action=reject"), "me": "mx.test.example"})
    expect(send(d, with_attachment(EICAR)), 554, contains=f"Virus Found: {FOUND_NAME}")
    expect(send(d, make_message(b"nothing to see\n")), 250)
    assert "X-Virus-Checked: Checked by ClamAV on mx.test.example" in head(d.wait_messages(1)[0]).split("\n")
    d2 = start_daemon({"plugins": plugins(line)})
    expect(send(d2, make_message(EICAR + b"\n")), 250)
    lines = head(d2.wait_messages(1)[0]).split("\n")
    assert "X-Virus-Found: Yes" in lines and f"X-Virus-Details: {FOUND_NAME}" in lines, lines
    # A scanner that cannot reach clamd: qpsmtpd's clamav defers.
    broken = clamd.base / "broken.conf"
    broken.write_text(f"LocalSocket {clamd.base / 'nothing.sock'}\n")
    d3 = start_daemon({"plugins": plugins(f"virus/clamav clamscan_path={clamdscan} clamd_conf={broken}")})
    expect(send(d3, make_message(b"hello\n")), 451, "4.7.1", contains="Unable to scan for viruses")


def test_messages_per_second_through_clamd(start_daemon, clamd):
    d = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 clamd_socket {clamd.socket_path}")})
    n = 50
    c = d.client()
    c.ehlo()
    rate = c.send_all(SENDER, [RCPT], [dot_stuff(with_attachment(b"file %d\n" % i * 100)) for i in range(n)])
    d.wait_messages(n, timeout=30)
    MEASUREMENTS.append(f"virus/clamdscan: {rate:.1f} messages/s through clamd (one connection, ~2 KB attachments)")


def test_a_50_mb_message_is_streamed_not_held(start_daemon, clamd):
    """EICAR at the very end of a 50 MB message is found, so all of it reached clamd, while the
    daemon's peak memory grows by far less than the message."""
    d = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 max_size 60000 clamd_socket {clamd.socket_path}")})
    line = b"y" * 998 + b"\n"
    message = make_message(line * 50_000 + EICAR + b"\n")
    wire = dot_stuff(message)
    before = d.vmhwm_kb()
    c = d.client()
    c.ehlo()
    t0 = time.monotonic()
    reply = c.send_message(SENDER, [RCPT], wire)
    took = time.monotonic() - t0
    expect(reply, 554, contains=f"Virus found: {FOUND_NAME}")
    growth_mb = (d.vmhwm_kb() - before) / 1024
    MEASUREMENTS.append(f"virus/clamdscan: {len(wire) / 1e6:.0f} MB message scanned in {took:.1f} s; "
                        f"daemon peak memory grew {growth_mb:.1f} MB")
    assert growth_mb < 25, growth_mb


def test_garbage_or_silence_from_clamd(start_daemon):
    garbage, silent = FakePeer(b"I am not clamd\0"), FakePeer(None)
    try:
        host, port = garbage.address.split(":")
        d = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 defer_on_error yes clamd_host {host} clamd_port {port}")})
        expect(send(d, make_message(EICAR + b"\n")), 451, "4.7.1", contains="Unable to scan for viruses")
        host, port = silent.address.split(":")
        d2 = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 timeout 3 defer_on_error yes clamd_host {host} clamd_port {port}")})
        t0 = time.monotonic()
        expect(send(d2, make_message(b"hello\n")), 451, "4.7.1", contains="Unable to scan for viruses")
        assert 2.0 <= time.monotonic() - t0 < 4.0
        d3 = start_daemon({"plugins": plugins(f"virus/clamdscan scan_all 1 timeout 2 clamd_host {host} clamd_port {port}")})
        expect(send(d3, make_message(b"hello\n")), 250)  # qpsmtpd's default: unscanned mail passes
        assert "X-Virus-" not in head(d3.wait_messages(1)[0])
    finally:
        garbage.close()
        silent.close()


@pytest.mark.parametrize("name, alternative", [
    ("virus/uvscan", "virus/clamdscan"), ("virus/sophie", "virus/clamdscan"), ("virus/aveclient", "virus/clamav"),
    ("virus/bitdefender", "virus/clamdscan"), ("virus/hbedv", "virus/clamdscan"), ("virus/kavscanner", "virus/clamdscan"),
    ("dspam", "spamassassin"),
])
def test_check_config_names_the_supported_scanner(qpsmtpd_bin, tmp_path, name, alternative):
    cfg = write_config(tmp_path / "config", {"me": "localhost", "plugins": f"rcpt_ok\n{name}\nqueue/maildir ./Maildir"})
    p = subprocess.run([qpsmtpd_bin, "check-config", "--config", str(cfg)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=20)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert "plugins:2" in out and f"plugin '{name}': not supported" in out and alternative in out, out
