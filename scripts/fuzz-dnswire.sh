#!/usr/bin/env bash
# Fuzzes the DNS codec (Sources/DNSWire) with libFuzzer: decode must never trap, and what it
# decodes must encode and decode back to itself (Fuzz/DNSWire/FuzzEntry.swift states the property).
# Usage: scripts/fuzz-dnswire.sh [seconds, default 30]. Exits non-zero on a crash. The fuzzer
# binary and any input that crashed stay in .build/fuzz-dnswire/ (rerun the binary on the input
# to reproduce); the corpus is temporary.
#
# Built with swiftc directly, not SwiftPM: the codec has no dependencies, so one optimised
# compile of its files plus the entry takes seconds and leaves the debug build alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_TO_RUN="${1:-30}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ARTIFACTS="$ROOT/.build/fuzz-dnswire"
mkdir -p "$ARTIFACTS" "$WORK/corpus"

mapfile -t SOURCES < <(find Sources/DNSWire -name '*.swift' | sort)
swiftc -O -sanitize=fuzzer,address -parse-as-library -swift-version 6 \
    -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
    -enable-upcoming-feature InternalImportsByDefault \
    -module-name DNSWireFuzz "${SOURCES[@]}" Fuzz/DNSWire/FuzzEntry.swift -o "$ARTIFACTS/fuzz-dnswire"

cp Fuzz/DNSWire/seeds/*.bin "$WORK/corpus/"
"$ARTIFACTS/fuzz-dnswire" "$WORK/corpus" \
    -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/"
