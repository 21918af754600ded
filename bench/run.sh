#!/usr/bin/env bash
# The side-by-side benchmark: builds the daemon in release mode, runs it and its peers
# (smtp-sink, a private Postfix, Debian's qpsmtpd forkserver, aiosmtpd) on loopback ports,
# drives them with smtp-source and the harness's own clients, and prints a Markdown table.
#
#   bench/setup.sh                  # once, as root (Debian 12)
#   bench/run.sh                    # full run: REPS=3, IDLE_N=10000 (about 10 minutes here)
#   QUICK=1 bench/run.sh            # smoke run: REPS=1 SCALE=0.1 IDLE_N=500 (about 2 minutes)
#   SERVERS="ours-dns qpsmtpd-dns" SCENARIOS=dns bench/run.sh   # the DNS plugins side by side
#   SERVERS="ours-forward qpsmtpd-forward ours-postfixq qpsmtpd-postfixq ours-maildir qpsmtpd-forkserver" \
#       SCENARIOS=backend bench/run.sh                             # the queue plugins into Postfix
#   SERVERS="ours-scan qpsmtpd-scan" SCENARIOS=scan bench/run.sh  # clamd + spamd in the chain
#
# Environment (defaults in brackets):
#   REPS [3]        repetitions, servers interleaved (order rotated each repetition)
#   SCALE [1]       multiplies every smtp-source message count
#   IDLE_N [10000]  idle sessions held against our daemon; PEER_IDLE_N [1000] for peers
#   BIG_MB [50]     size of the one large message
#   SERVERS         subset of: ours-maildir ours-discard smtp-sink postfix qpsmtpd-forkserver aiosmtpd
#                   ours-dns qpsmtpd-dns (not in the default list: they run only the dns scenario)
#                   ours-forward qpsmtpd-forward ours-postfixq qpsmtpd-postfixq (not in the default
#                   list: they run only the backend scenario); ours-scan qpsmtpd-scan (not in the
#                   default list: they run only the scan scenario)
#   SCENARIOS       subset of: big50m par20_reuse par20_conn seq1_reuse par20_100k idle dns backend scan
#   DNS_SESSIONS [2000], DNS_CONCURRENCY [20]   the dns scenario's sessions (times SCALE)
#   BACKEND_N [1000], BACKEND_CONCURRENCY [10]  the backend scenario's messages (times SCALE)
#                   and smtp-source sessions (-s, each reusing its connection)
#   SCAN_N [200], SCAN_CONCURRENCY [4]         the scan scenario's messages (times SCALE) and
#                   connections (each reusing its connection; also spamd's number of children)
#   LOGLEVEL [6]    loglevel for our daemon and the Perl qpsmtpd (6 = info)
#   BENCH_DIR [/tmp/qpsmtpd-bench]  venv, configs, Maildirs, logs, results
#   OUT             results file [$BENCH_DIR/results/run-DATE.jsonl]
#   QPSMTPD_BIN     use this binary instead of building .build/release/qpsmtpd
#
# The dns scenario: dnsbl (three zones), rhsbl and fcrdns in our daemon and in the Perl
# qpsmtpd, against a private unbound on 127.53.0.1:2590-2599 serving the zones (never the
# machine's resolver: ours reads config dns_servers, the Perl side a private resolv.conf
# through bench/perl/BenchResolver.pm); clients connect from 40 addresses 127.0.2.x.
#
# The backend scenario: 4 KB messages through one queue plugin, the same plugin line in our
# daemon and in the Perl qpsmtpd: queue/smtp-forward to a private Postfix's smtpd on
# 127.0.0.1 (ours-forward, qpsmtpd-forward), queue/postfix-queue FLAG_MASK_EXTERNAL into that
# Postfix's public/cleanup socket (ours-postfixq, qpsmtpd-postfixq; public/ gets o+x so the
# Perl qpsmtpd, user qpsmtpd, reaches the socket), queue/maildir (ours-maildir,
# qpsmtpd-forkserver). Each backend server starts its own Postfix (the same code as the
# "postfix" peer, servers/NAME-downstream) whose header_checks put every message on hold:
# queued and fsync'ed, never delivered, so the queueing path is what is measured. A run is
# "ok" only if the hold queue then holds exactly as many messages as smtp-source sent.
#
# The scan scenario: ~4 KB multipart messages (text and a 1.5 KB base64 attachment) from the
# harness's own client through virus/clamdscan (clamd's UNIX socket, scan_all 1) then
# spamassassin (spamd over TCP, reject 10) then queue/maildir, the same plugin lines in our
# daemon and in the Perl qpsmtpd, against ONE private spamd and ONE private clamd started once
# for the scenario (bench/lib/scanners.py: spamd --local --nouser-config with the package's
# rules, clamd with an EICAR-only signature database; nothing from the network). Before each
# measured run GTUBE and EICAR must be refused; a run is "ok" only if every message was
# accepted, kept in the Maildir and carries X-Spam-Status and X-Virus-Checked.
# All other traffic goes to 127.0.0.1, ports 2530-2599. Every server is started in its own
# session and stopped by its PID. Re-print a table: bench/lib/summarize.py FILE.jsonl
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/qpsmtpd-bench}
if [ -n "${QUICK:-}" ]; then
    : "${REPS:=1}" "${SCALE:=0.1}" "${IDLE_N:=500}" "${PEER_IDLE_N:=200}"
fi
REPS=${REPS:-3}
SCALE=${SCALE:-1}
IDLE_N=${IDLE_N:-10000}
PEER_IDLE_N=${PEER_IDLE_N:-1000}
BIG_MB=${BIG_MB:-50}
LOGLEVEL=${LOGLEVEL:-6}
SERVERS=${SERVERS:-ours-maildir ours-discard smtp-sink postfix qpsmtpd-forkserver aiosmtpd}
SCENARIOS=${SCENARIOS:-big50m par20_reuse par20_conn seq1_reuse par20_100k idle}
OUT=${OUT:-$BENCH_DIR/results/run-$(date +%Y%m%d-%H%M%S).jsonl}
PY="$BENCH_DIR/venv/bin/python"

[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root (Postfix and qpsmtpd switch users)" >&2; exit 1; }
[ -x "$PY" ] && [ -x /usr/sbin/smtp-source ] && [ -x /usr/bin/qpsmtpd-forkserver ] \
    || { echo "bench/run.sh: run bench/setup.sh first" >&2; exit 1; }

if [ -z "${QPSMTPD_BIN:-}" ]; then
    echo "bench/run.sh: swift build -c release" >&2
    swift build -c release --package-path "$ROOT" --product qpsmtpd >&2
    QPSMTPD_BIN="$(swift build -c release --package-path "$ROOT" --show-bin-path)/qpsmtpd"
fi

# 10,000 idle sessions need that many descriptors in the daemon and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

"$PY" "$ROOT/bench/lib/bench.py" --binary "$QPSMTPD_BIN" --bench-dir "$BENCH_DIR" --out "$OUT" \
    --reps "$REPS" --scale "$SCALE" --idle-n "$IDLE_N" --peer-idle-n "$PEER_IDLE_N" --big-mb "$BIG_MB" \
    --loglevel "$LOGLEVEL" --servers "$SERVERS" --scenarios "$SCENARIOS" \
    --dns-sessions "${DNS_SESSIONS:-2000}" --dns-concurrency "${DNS_CONCURRENCY:-20}" \
    --backend-n "${BACKEND_N:-1000}" --backend-concurrency "${BACKEND_CONCURRENCY:-10}" \
    --scan-n "${SCAN_N:-200}" --scan-concurrency "${SCAN_CONCURRENCY:-4}"
echo >&2
echo "bench/run.sh: results in $OUT" >&2
"$PY" "$ROOT/bench/lib/summarize.py" "$OUT"
