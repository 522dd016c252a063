#!/usr/bin/env bash
# run.sh - prints throughput and memory figures of the builtin backend (not a test: nothing is asserted).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
exec python3 "$root/bench/bench.py" "$root/$build/llmsyn-fhir"
