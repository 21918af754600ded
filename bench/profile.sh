#!/usr/bin/env bash
# Where a message's CPU time goes: runs the daemon under callgrind while smtp-source sends
# MESSAGES (default 2000) 4 KB messages on one connection, then prints the functions with
# the highest inclusive instruction counts. Needs valgrind and bench/setup.sh (smtp-source).
#
#   bench/profile.sh                     # queue/maildir (fsynced)
#   QUEUE=discard bench/profile.sh       # queue/discard
#   SCRATCH=.build-prof                  # build folder for the -g release build
# Traffic goes to 127.0.0.1 only (port 2529).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MESSAGES=${MESSAGES:-2000}
QUEUE=${QUEUE:-maildir}
SCRATCH=${SCRATCH:-$ROOT/.build-prof}
WORK=${WORK:-/tmp/qpsmtpd-bench/profile}
PORT=${PORT:-2529}
TOP=${TOP:-40}

if [ -z "${QPSMTPD_BIN:-}" ]; then
    swift build -c release -Xswiftc -g --package-path "$ROOT" --scratch-path "$SCRATCH" --product qpsmtpd >&2
    QPSMTPD_BIN="$SCRATCH/release/qpsmtpd"
fi

rm -rf "$WORK"; mkdir -p "$WORK/config" "$WORK/spool"
echo bench.test.example >"$WORK/config/me"
echo test.example >"$WORK/config/rcpthosts"
echo "$WORK/spool" >"$WORK/config/spool_dir"
echo 6 >"$WORK/config/loglevel"
if [ "$QUEUE" = discard ]; then q="queue/discard"; else q="queue/maildir $WORK/Maildir"; fi
printf 'count_unrecognized_commands 4\nrcpt_ok\n%s\n' "$q" >"$WORK/config/plugins"

valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$QPSMTPD_BIN" serve --config "$WORK/config" --listen "127.0.0.1:$PORT" 2>"$WORK/daemon.log" &
vg=$!
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/daemon.log" 2>/dev/null && break; sleep 0.2; done
grep -q "listening on" "$WORK/daemon.log" || { echo "daemon did not start; see $WORK/daemon.log" >&2; kill "$vg"; exit 1; }
start=$(date +%s.%N)
timeout 900 smtp-source -s 1 -m "$MESSAGES" -l 4096 -d -M bench.client -f bench@test.example \
    -t rcpt@test.example "127.0.0.1:$PORT"
end=$(date +%s.%N)
kill -TERM "$vg"; wait "$vg" || true
echo "$MESSAGES messages under callgrind in $(echo "$end - $start" | bc) s" >&2
callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null | head -n $((TOP + 25)) >"$WORK/inclusive.txt"
callgrind_annotate "$WORK/callgrind.out" 2>/dev/null | head -n $((TOP + 25)) >"$WORK/self.txt"
echo "== inclusive ($WORK/inclusive.txt)"; cat "$WORK/inclusive.txt"
echo "== self ($WORK/self.txt)"; cat "$WORK/self.txt"
