#!/usr/bin/env bash
# The whole test run: build, Swift tests, the live suite against the built
# daemon, and the custom-plugin example. Usage: scripts/test.sh [pytest args...]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

declare -a SUMMARY=()
TMP=""
step() { printf '\n==> %s\n' "$*"; }
record() { SUMMARY+=("$1"); }
finish() {
    local rc=$?
    if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
    printf '\n==== summary ====\n'
    for line in "${SUMMARY[@]}"; do printf '  %s\n' "$line"; done
    if [ "$rc" -eq 0 ]; then
        printf 'ALL PASSED\n'
    else
        printf 'FAILED (exit %d) during: %s\n' "$rc" "${CURRENT:-setup}"
    fi
    exit "$rc"
}
trap finish EXIT

CURRENT="swift build"
step "$CURRENT"
# The import rules of ARCHITECTURE.md: every target imports only what it declares, and plugins never see NIO.
swift build --explicit-target-dependency-import-check error
if grep -rnE '^\s*(@preconcurrency |public |internal )?import NIO' Sources/SMTPPlugins Sources/SMTPPluginAPI; then
    echo "plugins and the plugin API must not import NIO" >&2
    exit 1
fi
record "ok   swift build (import checks)"

CURRENT="swift test"
step "$CURRENT"
# One test at a time: many tests bound how long something takes (DNS deadlines, client
# timeouts), and with all ~700 in parallel on two cores a test can wait seconds for a thread.
# Serial costs about 50 s more and makes those bounds mean what they say.
swift test --no-parallel
record "ok   swift test (serial)"

CURRENT="live tests (tests/live)"
step "$CURRENT"
export QPSMTPD_BIN="${QPSMTPD_BIN:-$ROOT/.build/debug/qpsmtpd}"
python3 -m pytest -q tests/live "$@"
record "ok   live tests against $QPSMTPD_BIN"

CURRENT="Examples/CustomPlugin"
step "$CURRENT: its plugins' tests, then check-config with its plugin"
# The example and the micro-benchmarks build into the root's .build (--scratch-path): they use the
# same dependencies, already compiled above, so each builds only its own targets (seconds instead
# of 5 and 8 minutes of recompiling SwiftNIO and the rest). SwiftPM keeps one build plan per
# scratch directory and does not always see that it belongs to another package: after the
# example's `swift test`, the benchmarks' build "completed" in half a second without compiling
# anything. So the plan is dropped whenever the package changes (and at the end, for the next
# root build); the compiled objects stay and are reused.
SCRATCH=(--scratch-path "$ROOT/.build")
forget_build_plan() { rm -f "$ROOT/.build/debug.yaml" "$ROOT"/.build/*/debug/description.json; }
forget_build_plan
swift test --package-path Examples/CustomPlugin "${SCRATCH[@]}"
swift build --package-path Examples/CustomPlugin "${SCRATCH[@]}"
EXAMPLE_BIN="$(swift build --package-path Examples/CustomPlugin "${SCRATCH[@]}" --show-bin-path)/site-qpsmtpd"
TMP="$(mktemp -d)"
mkdir -p "$TMP/config"
printf 'localhost\n' >"$TMP/config/me"
printf 'site/reject_noreply\nrcpt_ok\nqueue/maildir %s/Maildir\n' "$TMP" >"$TMP/config/plugins"
"$EXAMPLE_BIN" check-config --config "$TMP/config"
# The stock binary must not know the site plugin.
if "$QPSMTPD_BIN" check-config --config "$TMP/config" >/dev/null 2>&1; then
    echo "qpsmtpd accepted site/reject_noreply, which only the example registers" >&2
    exit 1
fi
record "ok   Examples/CustomPlugin: plugin tests pass; its check-config accepts site/reject_noreply"
CURRENT="Benchmarks (build only)"
step "$CURRENT: swift build --package-path Benchmarks"
# CI only builds the micro-benchmarks (run them with: cd Benchmarks && swift package benchmark),
# and checks that the load harness's Python parses.
forget_build_plan
swift build --package-path Benchmarks "${SCRATCH[@]}"
[ -x "$ROOT/.build/debug/SMTPHotPath" ] || { echo "the benchmarks' build left no SMTPHotPath" >&2; exit 1; }
forget_build_plan
python3 -m py_compile bench/lib/*.py bench/servers/*.py
bash -n bench/run.sh bench/setup.sh bench/profile.sh
record "ok   Benchmarks builds; bench/ scripts parse"
CURRENT="DNSWire fuzzing (30 s)"
step "$CURRENT: scripts/fuzz-dnswire.sh 30"
scripts/fuzz-dnswire.sh 30
record "ok   DNSWire fuzzing: 30 s of libFuzzer, no crash"
CURRENT=""
