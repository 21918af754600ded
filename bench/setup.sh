#!/usr/bin/env bash
# Installs the benchmark's peers and load client (Debian 12, as root). Safe to run again.
#
#   bench/setup.sh
#
# - Debian packages: postfix (for smtp-source, smtp-sink and a private smtpd
#   instance), qpsmtpd (the Perl original, run as forkserver), python3-venv, unbound
#   (the dns scenario's private DNS server; its system service is never started),
#   libclamav-client-perl (ClamAV::Client: the Perl qpsmtpd's virus/clamdscan plugin needs it
#   for the scan scenario; spamd, spamassassin, clamav-daemon are the scan scenario's scanners,
#   their system services are never started: the harness runs private instances).
#   Postfix is installed with debconf "No configuration", so no system MTA is
#   configured, and no service is started while installing (policy-rc.d).
# - aiosmtpd from PyPI, in a venv at $BENCH_DIR/venv.
#
# Configs for every server are written by bench/run.sh at each run, under
# $BENCH_DIR (default /tmp/qpsmtpd-bench). Nothing here listens anywhere.
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/tmp/qpsmtpd-bench}
AIOSMTPD_VERSION=${AIOSMTPD_VERSION:-1.4.6}

say() { echo "bench/setup: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "run as root"; exit 1; }

want=(postfix qpsmtpd python3-venv procps iproute2 unbound
      libclamav-client-perl spamd spamassassin clamav-daemon)
need=()
for pkg in "${want[@]}"; do
    if ! dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
        need+=("$pkg")
    fi
done

if [ "${#need[@]}" -gt 0 ]; then
    say "apt-get install ${need[*]}"
    debconf-set-selections <<SEL
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string bench.invalid
SEL
    # A policy-rc.d that answers 101 keeps package scripts from starting services.
    added_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# added by qpsmtpd bench/setup.sh while installing\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        added_policy=yes
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
    if [ "$added_policy" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# Debian's qpsmtpd package may have started its own daemon (it normally listens on port 25
# via its init script, which policy-rc.d holds back). Report anything on port 25; never kill
# what we did not start.
if ss -Hltn 'sport = :25' | grep -q .; then
    say "WARNING: something listens on port 25; the benchmark never uses that port"
fi

for tool in /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/bin/qpsmtpd-forkserver /usr/lib/postfix/sbin/master /usr/sbin/unbound \
            /usr/sbin/spamd /usr/sbin/clamd; do
    [ -x "$tool" ] || { say "missing $tool after install"; exit 1; }
done
id qpsmtpd >/dev/null 2>&1 || { say "the qpsmtpd package did not create user qpsmtpd"; exit 1; }

mkdir -p "$BENCH_DIR"
chmod 0755 "$BENCH_DIR"
venv="$BENCH_DIR/venv"
if ! "$venv/bin/python" - "$AIOSMTPD_VERSION" 2>/dev/null <<'PY'
import sys, aiosmtpd
sys.exit(0 if aiosmtpd.__version__ == sys.argv[1] else 1)
PY
then
    say "venv $venv with aiosmtpd $AIOSMTPD_VERSION"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION"
fi

say "ready: postfix $(postconf -d -h mail_version), qpsmtpd $(dpkg-query -W -f='${Version}' qpsmtpd), aiosmtpd $AIOSMTPD_VERSION in $venv"
