"""Postfix's own smtp client relaying THROUGH qpsmtpd, with STARTTLS and SASL AUTH.

A private Postfix (tests/live/postfix_helpers.py: own config, queue and data directories,
no listener) has relayhost = [127.0.0.1]:<our port>, TLS level "secure" (certificate
verified against the test CA and the name mx.test.example) and SASL credentials from a
static: map. A message submitted with Postfix's sendmail must be delivered by Postfix's
smtp client to our daemon, which accepts it for an outside domain only because the client
authenticated, and stores it in its Maildir.
"""
from __future__ import annotations

import uuid

import pytest

from postfix_helpers import PostfixInstance, require_postfix, stop_all
from tls_helpers import SERVER_NAME, make_pki

USER, PASSWORD = "relay@test.example", "pf-S3cret-passw0rd"
SENDER = "alice@client.test.example"
OUTSIDE = "friend@elsewhere.example"
DELIVERY_TIMEOUT = 30.0


def qpsmtpd_config(pki) -> dict[str, str]:
    return {
        "me": SERVER_NAME,
        "plugins": f"tls {pki['cert']} {pki['key']}\nauth/auth_flat_file\nrcpt_ok\nqueue/maildir {{maildir}}",
        "flat_auth_pw": f"{USER}:{PASSWORD}",
        "auth_failure_delay": "0",
        "loglevel": "7",
    }


@pytest.fixture
def postfix_factory(tmp_path):
    """postfix_factory(params) -> a started PostfixInstance; stopped (and checked to have
    stopped cleanly) on teardown. Fails, never skips, when Postfix is missing."""
    require_postfix()
    instances: list[PostfixInstance] = []

    def start(params: dict[str, str], files: dict[str, str] | None = None) -> PostfixInstance:
        pf = PostfixInstance(params, files, keep_log_in=tmp_path / f"postfix{len(instances) + 1}")
        instances.append(pf)
        pf.start()
        return pf

    yield start
    stop_all(*instances)


def relay_params(port: int, ca: str, mechanism: str, password: str = PASSWORD) -> tuple[dict[str, str], dict[str, str]]:
    nexthop = f"[127.0.0.1]:{port}"
    params = {
        "myhostname": "client.test.example",
        "mydomain": "test.example",
        "relayhost": nexthop,
        # TLS: never send in clear; for our relayhost require a certificate chaining to the
        # test CA and naming mx.test.example (the policy table's match=).
        "smtp_tls_security_level": "encrypt",
        "smtp_tls_policy_maps": "texthash:${config_directory}/tls_policy",
        "smtp_tls_CAfile": ca,
        "smtp_tls_servername": SERVER_NAME,
        "smtp_tls_loglevel": "1",
        # SASL: the Cyrus client with a fixed username:password; plaintext mechanisms are fine
        # inside TLS. The filter pins the mechanism the test is about.
        "smtp_sasl_auth_enable": "yes",
        "smtp_sasl_password_maps": f"static:{USER}:{password}",
        "smtp_sasl_security_options": "noanonymous",
        "smtp_sasl_tls_security_options": "noanonymous",
        "smtp_sasl_mechanism_filter": mechanism,
        # No bounce mail for the negative test: a failed AUTH leaves the message deferred.
        "smtp_sasl_auth_soft_bounce": "yes",
    }
    files = {"tls_policy": f"{nexthop} secure match={SERVER_NAME}\n"}
    return params, files


def message(token: str) -> bytes:
    return (f"From: Alice <{SENDER}>\nTo: <{OUTSIDE}>\nSubject: postfix relay {token}\n\n"
            f"Relayed by Postfix's smtp client through qpsmtpd.\ntoken {token}\n").encode()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_postfix_relays_through_us_with_starttls_and_sasl(start_daemon, postfix_factory, tmp_path, mechanism):
    pki = make_pki(tmp_path / "pki")
    d = start_daemon(qpsmtpd_config(pki))
    params, files = relay_params(d.port, str(pki["ca"]), mechanism)
    pf = postfix_factory(params, files)
    token = uuid.uuid4().hex
    pf.sendmail(SENDER, [OUTSIDE], message(token))

    relay = f"relay=127.0.0.1[127.0.0.1]:{d.port}"
    sent = pf.wait_log(relay, "status=sent", timeout=DELIVERY_TIMEOUT)
    assert sent, (f"Postfix did not deliver through qpsmtpd within {DELIVERY_TIMEOUT}s.\n"
                  f"--- postfix maillog ---\n{pf.log()}\n--- postqueue -p ---\n{pf.queue()}\n"
                  f"--- qpsmtpd log ---\n{d.log_tail(60)}")
    [msg] = d.wait_messages(1, timeout=5)
    context = f"\n--- postfix delivery ---\n{sent[0]}\n--- stored message ---\n{msg.decode(errors='replace')}"

    assert f"token {token}".encode() in msg, context
    assert f"to=<{OUTSIDE}>" in sent[0], context
    # Postfix verified our certificate (level "secure") before it sent anything.
    assert pf.log_lines("Verified TLS connection established to", f"127.0.0.1[127.0.0.1]:{d.port}"), pf.log()
    # Our Received header: ESMTP + TLS + AUTH, and the authenticated user in Authentication-Results.
    assert b"with ESMTPSA (TLSv1." in msg, context
    assert f"auth=pass ({mechanism}) smtp.auth={USER}".encode() in msg, context
    # Postfix's own Received header (added at pickup) comes after ours.
    assert msg.index(b"with ESMTPSA") < msg.index(b"by client.test.example (Postfix"), context
    log = "\n".join(d.stderr_lines)
    assert f"AUTH {mechanism} succeeded for {USER}" in log, d.log_tail(60)
    assert PASSWORD not in log


def test_postfix_with_wrong_password_is_refused(start_daemon, postfix_factory, tmp_path):
    """The relay above is due to AUTH: with a wrong password Postfix's AUTH fails, the message
    stays in Postfix's queue and nothing is delivered."""
    pki = make_pki(tmp_path / "pki")
    d = start_daemon(qpsmtpd_config(pki))
    params, files = relay_params(d.port, str(pki["ca"]), "PLAIN", password="not-the-password")
    pf = postfix_factory(params, files)
    pf.sendmail(SENDER, [OUTSIDE], message(uuid.uuid4().hex))

    failed = pf.wait_log("SASL authentication failed", timeout=DELIVERY_TIMEOUT)
    assert failed, f"no SASL failure in Postfix's log:\n{pf.log()}\n--- qpsmtpd log ---\n{d.log_tail(60)}"
    assert "535" in failed[0], failed[0]
    deferred = pf.wait_log(f"relay=127.0.0.1[127.0.0.1]:{d.port}", "status=deferred", timeout=10)
    assert deferred, pf.log()
    assert not pf.log_lines("status=sent"), pf.log()
    assert d.messages() == []
