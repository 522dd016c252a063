# lib.sh - shared helpers for the integration tests (sourced).
set -u
BIN=${LLMSYN_BIN:?LLMSYN_BIN must point at build/llmsyn-fhir}
ROOT=${LLMSYN_ROOT:?LLMSYN_ROOT must point at the repository}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The model answer cache is on by default: keep every test's cache private and fresh.
export XDG_CACHE_HOME="$TMP/xdg-cache"
checks=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "ok: $*"; }

# expect_exit STATUS CMD... : runs CMD, asserts its exit status, keeps stderr in $TMP/stderr.
expect_exit() {
    local want=$1; shift
    local got=0
    "$@" >"$TMP/stdout" 2>"$TMP/stderr" || got=$?
    [ "$got" -eq "$want" ] || { cat "$TMP/stderr" >&2; fail "'$*' exited $got, expected $want"; }
}

expect_stderr() { grep -qF -- "$1" "$TMP/stderr" || { cat "$TMP/stderr" >&2; fail "stderr lacks '$1'"; }; }

# Every bundle in a folder checked by an independent Python checker.
check_bundles() { python3 "$ROOT/tests/integration/check_bundles.py" "$@" || fail "bundle check failed: $*"; }

# Byte-identical record output of two folders (the run report holds timings, so it is left out).
same_records() {
    diff -r -x 'run-report.*' "$1" "$2" >/dev/null || fail "outputs differ: $1 vs $2"
}
