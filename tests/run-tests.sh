#!/usr/bin/env bash
# run-tests.sh - runs every unit test binary and every integration script; prints "N passed, N failed".
# Usage: tests/run-tests.sh [BUILD] [--sanitized]   (docs/testing.md)
# BUILD is the build folder holding llmsyn-fhir and tests/test_* (default build). --sanitized is the pass
# `make test-san` runs over an AddressSanitizer + UndefinedBehaviorSanitizer build: every sanitizer report,
# from any process a test starts, fails that test, whatever exit status the test itself expected.
# TEST_JOBS (default 2) tests run at once; each writes BUILD/test-logs/NAME.log. TESTS=GLOB runs only the tests
# whose name (unit/test_x or integration/test_y) matches, e.g. TESTS='*post*'.
set -u
build=build sanitized=0
for a in "$@"; do
    case $a in
        --sanitized) sanitized=1 ;;
        -*) echo "usage: $0 [BUILD] [--sanitized]" >&2; exit 2 ;;
        *) build=$a ;;
    esac
done
jobs=${TEST_JOBS:-2}
[[ $jobs =~ ^[1-9][0-9]?$ ]] || { echo "run-tests.sh: TEST_JOBS must be 1..99, not '$jobs'" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
export LLMSYN_BIN="$root/$build/llmsyn-fhir" LLMSYN_ROOT="$root"
logs="$root/$build/test-logs"
san_logs="$logs/sanitizer"
results="$logs/results"
rm -rf "$results"
mkdir -p "$results"

# Integration scripts the sanitized pass leaves to the normal pass: they test the normal build itself
# (make install, the README's run command in a fresh copy), build their own sanitized binaries (fuzzing), or
# cannot run a sanitized binary (valgrind).
normal_only=" test_install test_fresh_clone test_fuzz_smoke test_valgrind "
# Scripts that share BUILD/fuzz (tests/fuzz/run.sh builds there): one job runs them one after the other.
fuzz_users=" test_fuzz_smoke test_codes_cli "
# The slowest scripts (a minute or more on 2 cores) start first, so no long one is left running alone at the end.
slow_first=" test_valgrind test_post test_post_ndjson test_eval test_resume test_backends "

if [ "$sanitized" -eq 1 ]; then
    rm -rf "$san_logs"
    mkdir -p "$san_logs"
    # halt at the first error; leaks checked at exit (LeakSanitizer needs ptrace, so not under gdb or strace);
    # exit status 86 marks a sanitizer death. log_path is set per test in run_one.
    san_asan="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86:detect_stack_use_after_return=1"
    san_asan="$san_asan:strict_string_checks=1"
    san_ubsan="print_stacktrace=1:halt_on_error=1:exitcode=86"
fi

# san_check NAME: prints the sanitizer reports written while NAME ran; fails when there is none (reports go to
# files, so a test that expects a failing exit status, or ignores one, cannot hide them).
san_check() {
    local f found=1
    for f in "$san_logs/$1".*; do
        [ -f "$f" ] || continue
        found=0
        echo "     sanitizer report $f:"
        head -n 40 "$f" | sed 's/^/     /'
    done
    return "$found"
}

# run_one NAME CMD...: runs one test, writes "STATUS SECONDS" to $results/FLAT (in a background job).
run_one() {
    local name=$1; shift
    local flat=${name//\//.} log="$logs/$name.log" start=$SECONDS status=0
    mkdir -p "$(dirname "$log")"
    if [ "$sanitized" -eq 1 ]; then
        ASAN_OPTIONS="$san_asan:log_path=$san_logs/$flat" UBSAN_OPTIONS="$san_ubsan:log_path=$san_logs/$flat" \
            "$@" >"$log" 2>&1 </dev/null || status=$?
    else
        "$@" >"$log" 2>&1 </dev/null || status=$?
    fi
    echo "$status $((SECONDS - start))" >"$results/$flat"
}

pass=0 fail=0 failed=()
# report NAME: prints the outcome of a finished test and counts it.
report() {
    local name=$1 flat=${1//\//.} status=1 took=0
    read -r status took <"$results/$flat" || status=1
    if [ "$status" -eq 0 ] && ! { [ "$sanitized" -eq 1 ] && san_check "$flat" >/dev/null; }; then
        pass=$((pass + 1)); echo "ok   $name (${took} s)"
    else
        fail=$((fail + 1)); failed+=("$name")
        echo "FAIL $name (exit $status, ${took} s, log: $logs/$name.log)"
        tail -n 30 "$logs/$name.log" | sed 's/^/     /'
        [ "$sanitized" -eq 1 ] && san_check "$flat"
    fi
}

# The work, one job per line: "NAME[ NAME...]"; the names of a line run one after the other.
items=() slow=() fuzz_line=""
for t in "$root"/tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh)
    if [ "$sanitized" -eq 1 ] && [[ $normal_only == *" $n "* ]]; then
        echo "--   integration/$n (normal pass only)"
        continue
    fi
    if [[ $fuzz_users == *" $n "* ]]; then fuzz_line="$fuzz_line integration/$n"
    elif [[ $slow_first == *" $n "* ]]; then slow+=("integration/$n")
    else items+=("integration/$n"); fi
done
items=("${slow[@]}" "${items[@]}")
[ -n "$fuzz_line" ] && items=("${fuzz_line# }" "${items[@]}")
for t in "$root/$build"/tests/test_*; do
    [ -x "$t" ] && [ -f "$t" ] && items+=("unit/$(basename "$t")")
done

if [ -n "${TESTS:-}" ]; then
    kept=()
    for line in "${items[@]}"; do
        sel=""
        # shellcheck disable=SC2053 # TESTS is a glob
        for name in $line; do [[ $name == $TESTS ]] && sel="$sel $name"; done
        [ -n "$sel" ] && kept+=("${sel# }")
    done
    items=("${kept[@]}")
fi

# run_line NAMES: the tests of one job line, in order.
run_line() {
    local name
    for name in $1; do
        case $name in
            unit/*) run_one "$name" "$root/$build/tests/${name#unit/}" ;;
            *) run_one "$name" bash "$root/tests/$name.sh" ;;
        esac
    done
}

# The FHIR test server's npm packages, installed once before tests that need them run side by side.
srv="$root/tests/servers/fhir"
if [ ! -d "$srv/node_modules/@medplum/fhir-router" ] && command -v npm >/dev/null; then
    (cd "$srv" && npm ci --no-audit --no-fund --loglevel=error) >"$logs/npm.log" 2>&1 ||
        echo "run-tests.sh: npm ci in tests/servers/fhir failed (log: $logs/npm.log); the post tests will say why"
fi

declare -A line_of=()
running=0
# reap: waits for one job and reports its tests.
reap() {
    local pid="" name
    wait -n -p pid
    running=$((running - 1))
    for name in ${line_of[$pid]}; do report "$name"; done
    unset "line_of[$pid]"
}
for line in "${items[@]}"; do
    [ "$running" -lt "$jobs" ] || reap
    run_line "$line" &
    line_of[$!]=$line
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do reap; done

what=""
[ "$sanitized" -eq 1 ] && what=" (sanitized build $build)"
echo "${pass} passed, ${fail} failed${what} in ${SECONDS} s, ${jobs} at a time"
[ "$fail" -eq 0 ]
