#!/usr/bin/env bash
# run.sh - prints throughput and memory figures of the builtin backend (not a test: nothing is asserted).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
# Code dictionaries: load time (median of several loads), lookups per second, search time.
mkdir -p "$root/$build/bench"
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$root/include" -I"$root/src" "$root/bench/codes_bench.c" \
    "$root/$build/libllmsyn.a" -lm -pthread -o "$root/$build/bench/codes_bench"
"$root/$build/bench/codes_bench" "$root/mappings"
exec python3 "$root/bench/bench.py" "$root/$build/llmsyn-fhir"
