#!/usr/bin/env bash
# test_resume.sh - kill -9 / SIGINT then --resume gives exactly the uninterrupted output; mismatched options refused.
. "$(dirname "$0")/lib.sh"

JOURNAL=.llmsyn-journal

# journaled DIR: records the run journal of DIR lists (its header line not counted).
journaled() {
    local n=1
    [ -f "$1/$JOURNAL" ] && n=$(wc -l <"$1/$JOURNAL")
    echo $((n > 0 ? n - 1 : 0))
}

# wait_records DIR N PID: polls until DIR's journal lists at least N records; fails if PID ends first.
wait_records() {
    local dir=$1 want=$2 pid=$3
    while [ "$(journaled "$dir")" -lt "$want" ]; do
        kill -0 "$pid" 2>/dev/null || fail "the run in $dir ended before $want records were journaled"
        sleep 0.01
    done
}

# interrupted DIR SIGNAL N ARGS...: starts a run, sends SIGNAL once N records are journaled, waits for it.
interrupted() {
    local dir=$1 sig=$2 n=$3 pid rc=0; shift 3
    "$BIN" -q --out "$dir" "$@" >"$TMP/stdout" 2>"$TMP/stderr" &
    pid=$!
    wait_records "$dir" "$n" "$pid"
    kill "-$sig" "$pid"
    wait "$pid" || rc=$?
    echo "$rc" >"$TMP/rc"
    [ -f "$dir/$JOURNAL" ] || fail "no journal left in $dir after SIG$sig: the run was not interrupted"
}

for fmt in bundles ndjson; do
    n=1500
    [ "$fmt" = ndjson ] && n=6000
    args=(-n "$n" --seed 11 --format "$fmt" --jobs 2)
    expect_exit 0 "$BIN" -q --out "$TMP/ref-$fmt" "${args[@]}"
    [ ! -e "$TMP/ref-$fmt/$JOURNAL" ] || fail "a complete run keeps its journal"

    interrupted "$TMP/k-$fmt" KILL 100 "${args[@]}"
    [ "$(cat "$TMP/rc")" -eq 137 ] || fail "kill -9 exit status $(cat "$TMP/rc")"
    before=$(journaled "$TMP/k-$fmt")
    [ "$before" -lt "$n" ] || fail "$fmt: nothing left to resume"
    expect_exit 0 "$BIN" -q --out "$TMP/k-$fmt" "${args[@]}" --resume
    same_records "$TMP/ref-$fmt" "$TMP/k-$fmt"
    grep -qE "\"records_ok\":[[:space:]]*$n," "$TMP/k-$fmt/run-report.json" || fail "$fmt: report does not count all $n records"
    ok "$fmt: kill -9 after $before records, --resume: byte-identical to the uninterrupted run"
done

# SIGINT: the interrupted run publishes its finished lines; --resume takes them back and goes on.
args=(-n 6000 --seed 11 --format ndjson --jobs 2)
interrupted "$TMP/int" INT 200 "${args[@]}"
[ "$(cat "$TMP/rc")" -eq 8 ] || fail "SIGINT exit status $(cat "$TMP/rc"), expected 8"
expect_stderr "rerun the same command with --resume"
[ -f "$TMP/int/Patient.ndjson" ] || fail "SIGINT run did not publish its finished records"
expect_exit 0 "$BIN" -q --out "$TMP/int" "${args[@]}" --resume
same_records "$TMP/ref-ndjson" "$TMP/int"
ok "SIGINT then --resume: byte-identical; the message says how to resume"

# Other options than the journal's are refused, naming the option; the folder is left as it was.
interrupted "$TMP/mis" TERM 100 "${args[@]}"
cp -a "$TMP/mis" "$TMP/mis.before"
expect_exit 2 "$BIN" -q --out "$TMP/mis" -n 6000 --seed 12 --format ndjson --resume
expect_stderr "--seed '11', this command has '12'"
expect_exit 2 "$BIN" -q --out "$TMP/mis" -n 6000 --seed 11 --format csv --resume
expect_stderr "--format 'ndjson', this command has 'csv'"
diff -r "$TMP/mis" "$TMP/mis.before" >/dev/null || fail "a refused --resume changed the folder"
ok "--resume with another --seed or --format: usage error naming the option, folder untouched"

# A non-empty folder without a journal is refused with --resume, and still without --force.
expect_exit 2 "$BIN" -q --out "$TMP/ref-ndjson" "${args[@]}" --resume
expect_stderr "no run journal"
expect_exit 7 "$BIN" -q --out "$TMP/mis" "${args[@]}"
expect_stderr "is not empty"
# --resume into a new folder is a plain run.
expect_exit 0 "$BIN" -q --out "$TMP/fresh" -n 50 --seed 11 --format csv --resume
expect_exit 0 "$BIN" -q --out "$TMP/fresh-ref" -n 50 --seed 11 --format csv
same_records "$TMP/fresh-ref" "$TMP/fresh"
ok "--resume: refused without a journal, a plain run into a new folder"

# A torn journal line (kill -9 while writing it) and a cut partial file line are dropped on resume.
interrupted "$TMP/torn" KILL 200 "${args[@]}"
printf '999999 o Patient.ndj' >>"$TMP/torn/$JOURNAL"
printf '{"resourceType":"Pat' >>"$TMP/torn/.Patient.ndjson.partial"
expect_exit 0 "$BIN" -q --out "$TMP/torn" "${args[@]}" --resume
same_records "$TMP/ref-ndjson" "$TMP/torn"
ok "torn journal line and half-written record line: dropped, output byte-identical"

# The openai backend against the local server (slow replies, one canned answer per step so each
# request's answer depends only on its step): kill -9 then --resume gives exactly the uninterrupted result.
mkdir "$TMP/answers"
for step in demographics main_diagnosis complications procedures; do
    cp "$ROOT/tests/data/openai/good/$step.prose.txt" "$TMP/answers/$step.txt"
done
python3 "$ROOT/tests/servers/fake_openai.py" --answers "$TMP/answers" --delay 0.02 >"$TMP/port" 2>"$TMP/server.log" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(head -1 "$TMP/port")
[ -n "$PORT" ] || fail "fake server did not start: $(cat "$TMP/server.log")"
oargs=(-n 120 --seed 5 --format ndjson --llm openai --llm-url "http://127.0.0.1:$PORT/v1" --model fake-model
       --concurrency 4 --no-cache)
"$BIN" --help | grep -q -- '--no-cache' || oargs=("${oargs[@]:0:${#oargs[@]}-1}")
expect_exit 0 "$BIN" -q --out "$TMP/o-ref" "${oargs[@]}"
interrupted "$TMP/o-k" KILL 20 "${oargs[@]}"
expect_exit 0 "$BIN" -q --out "$TMP/o-k" "${oargs[@]}" --resume
same_records "$TMP/o-ref" "$TMP/o-k"
ok "openai backend: kill -9 then --resume gives exactly the uninterrupted result"

echo "$checks checks passed"
