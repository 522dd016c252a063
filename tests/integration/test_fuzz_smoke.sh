# test_fuzz_smoke.sh - every libFuzzer target (tests/fuzz/fuzz_*.c) builds and runs 3 s on its seed corpus
# without a crash, leak or sanitizer report; every target has a committed seed corpus (docs/fuzzing.md).
. "$(dirname "$0")/lib.sh"

n=0
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c); t=${t#fuzz_}
    ls "$ROOT/tests/fuzz/corpus/$t/"* >/dev/null 2>&1 || fail "no seed corpus in tests/fuzz/corpus/$t/"
    n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n fuzz targets"
ok "$n fuzz targets, each with a seed corpus"

# The instrumented objects are kept next to the binary (build/fuzz/obj), so a rerun only recompiles changes.
build=$(cd "$(dirname "$BIN")" && pwd)
# A fixed seed: the CI smoke run repeats the same mutations (FUZZ_SEED=0 is random, for make fuzz).
FUZZ_SEED=1 "$ROOT/tests/fuzz/run.sh" 3 "$build" >"$TMP/fuzz.log" 2>&1 || { cat "$TMP/fuzz.log"; fail "fuzzing"; }
runs=$(grep -c '^stat::number_of_executed_units: [1-9]' "$TMP/fuzz.log" || true)
[ "$runs" -eq "$n" ] || { cat "$TMP/fuzz.log"; fail "$runs of $n targets reported executions"; }
ok "all $n fuzz targets ran 3 s each without a finding"
echo "$checks checks passed"
