#!/usr/bin/env bash
# run-tests.sh - runs every unit test binary and every integration script; prints "N passed, N failed".
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export LLMSYN_BIN="$root/$build/llmsyn-fhir" LLMSYN_ROOT="$root"
pass=0 fail=0 failed=()

run_one() {
    local name=$1; shift
    local log="$root/$build/test-logs/$name.log"
    mkdir -p "$(dirname "$log")"
    if "$@" >"$log" 2>&1; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (log: $log)"; tail -n 30 "$log" | sed 's/^/     /'
    fi
}

for t in "$root/$build"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done
for t in "$root"/tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo "${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ]
