#!/usr/bin/env bash
# Where a message's CPU time goes: samples the daemon with perf while smtp-source sends
# MESSAGES (default 2000) 4 KB messages on one connection, then prints the functions with
# the highest inclusive (children) and self shares. Needs perf (linux-perf) and bench/setup.sh.
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
TOP=${TOP:-60}

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

# valgrind 3.19 (Debian 12) cannot read the DWARF 5 that Swift 6.3 emits, and crashes on the
# Swift runtime, so this samples with perf (software cpu-clock: this VM has no hardware counters).
"$QPSMTPD_BIN" serve --config "$WORK/config" --listen "127.0.0.1:$PORT" 2>"$WORK/daemon.log" &
daemon=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/daemon.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$WORK/daemon.log" || { echo "daemon did not start; see $WORK/daemon.log" >&2; kill "$daemon"; exit 1; }
# warm up, then record only the measured load
smtp-source -s 1 -m 200 -l 4096 -d -M bench.client -f bench@test.example -t rcpt@test.example "127.0.0.1:$PORT"
perf record -q -e cpu-clock -F 4000 --call-graph dwarf,16384 -o "$WORK/perf.data" -p "$daemon" 2>"$WORK/perf.log" &
perf=$!
sleep 1
start=$(date +%s.%N)
timeout 900 smtp-source -s 1 -m "$MESSAGES" -l 4096 -d -M bench.client -f bench@test.example \
    -t rcpt@test.example "127.0.0.1:$PORT"
end=$(date +%s.%N)
kill -INT "$perf"; wait "$perf" || true
utime=$(awk '{print $14, $15}' /proc/$daemon/stat)
kill -TERM "$daemon"; wait "$daemon" || true
echo "$MESSAGES messages in $(echo "$end - $start" | bc) s; daemon utime/stime ticks since start: $utime" >&2
perf report -i "$WORK/perf.data" --children --sort symbol --stdio --no-call-graph --percent-limit 0.5 2>/dev/null \
    | swift demangle --simplified | grep -v '^$' | head -n "$TOP" >"$WORK/inclusive.txt"
perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio --no-call-graph --percent-limit 0.5 2>/dev/null \
    | swift demangle --simplified | grep -v '^$' | head -n "$TOP" >"$WORK/self.txt"
echo "== inclusive ($WORK/inclusive.txt)"; cat "$WORK/inclusive.txt"
echo "== self ($WORK/self.txt)"; cat "$WORK/self.txt"
