#!/usr/bin/env bash
# test_faults.sh - generate under faults: disk full, unwritable folder, read-only run journal, a model server
# that closes mid-reply, SIGINT/SIGTERM mid-run. Each: clear error, named exit status, no half-written
# visible file, and --resume then gives exactly the uninterrupted output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"

SERVER_PID=""
start_model() {
    : >"$TMP/port"
    python3 "$ROOT/tests/servers/fake_openai.py" --answers "$TMP/answers" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "fake model server did not start: $(cat "$TMP/server.log")"
    MURL="http://127.0.0.1:$PORT/v1"
}
stop_model() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
fault_cleanup_hook() { stop_model; }
model_args() { MODEL_ARGS=(--llm openai --llm-url "$MURL" --model fake-gpt --no-cache --retry-base 0.05); }
gen_model() { model_args; "$BIN" "${MODEL_ARGS[@]}" "$@"; }

# no_tmp DIR: no "*.tmp" leftover of an atomic write is visible.
no_tmp() { [ -z "$(find "$1" -name '*.tmp')" ] || fail "a temporary file is left in $1: $(find "$1" -name '*.tmp')"; }
# complete_bundles DIR REF: every record file in DIR is byte-identical to REF's (none half-written); prints how many.
complete_bundles() {
    local f n=0
    for f in "$1"/record-*.json; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$2/$(basename "$f")" || fail "$f is not the complete record"
        n=$((n + 1))
    done
    echo "$n"
}

# ---- 1. Disk full while generating (bundles and ndjson), then --resume after freeing space ----
N_B=600 N_N=2000
expect_exit 0 "$BIN" -q --out "$TMP/ref-bundles" -n $N_B --seed 5 --format bundles
expect_exit 0 "$BIN" -q --out "$TMP/ref-ndjson" -n $N_N --seed 5 --format ndjson

# Bundles: a tmpfs of half the output, or a file-size limit just above the first three records (a later,
# bigger record then fails).
first3=$(stat -c %s "$TMP"/ref-bundles/record-000000000[0-2].json | sort -n | tail -1)
ulimit_kb=$((first3 / 1024 + 1))
[ "$(find "$TMP/ref-bundles" -name 'record-*.json' -size +"${ulimit_kb}k" | wc -l)" -gt 0 ] ||
    fail "no record is bigger than ${ulimit_kb} KiB: the file-size limit would never be hit"
small_disk disk-b "$(($(du -sk "$TMP/ref-bundles" | cut -f1) / 2))" "$ulimit_kb"
out="$DISK_DIR/out"
expect_exit 7 limited "$BIN" -q --out "$out" -n $N_B --seed 5 --format bundles
expect_stderr "cannot write '$out/record-"
expect_stderr "$DISK_ERROR"
expect_stderr "rerun the same command with --resume"
no_tmp "$out"
written=$(complete_bundles "$out" "$TMP/ref-bundles")
[ "$written" -gt 0 ] && [ "$written" -lt $N_B ] || fail "bundles: $written records before the disk filled"
[ -f "$out/.llmsyn-journal" ] || fail "bundles: the run journal is gone after the failed write"
free_space
expect_exit 0 "$BIN" -q --out "$out" -n $N_B --seed 5 --format bundles --resume
same_records "$TMP/ref-bundles" "$out"
ok "bundles, disk full ($DISK_KIND) after $written records: exit 7 naming the file, no partial record; --resume exact"

# NDJSON: a tmpfs of half the output, or a size limit of half the biggest file.
biggest=$(stat -c %s "$TMP"/ref-ndjson/*.ndjson | sort -n | tail -1)
small_disk disk-n "$(($(du -sk "$TMP/ref-ndjson" | cut -f1) / 2))" "$((biggest / 2048))"
out="$DISK_DIR/out"
expect_exit 7 limited "$BIN" -q --out "$out" -n $N_N --seed 5 --format ndjson
expect_stderr "cannot write '$out/"
expect_stderr ".ndjson': $DISK_ERROR"
expect_stderr "rerun the same command with --resume"
no_tmp "$out"
[ -z "$(find "$out" -maxdepth 1 -name '*.ndjson')" ] || fail "ndjson: a visible .ndjson file after the failed write"
[ -n "$(find "$out" -maxdepth 1 -name '.*.ndjson.partial')" ] || fail "ndjson: the written records were deleted"
done_n=$(($(wc -l <"$out/.llmsyn-journal") - 1))
[ "$done_n" -gt 0 ] && [ "$done_n" -lt $N_N ] || fail "ndjson: $done_n records journaled before the disk filled"
free_space
expect_exit 0 "$BIN" -q --out "$out" -n $N_N --seed 5 --format ndjson --resume
same_records "$TMP/ref-ndjson" "$out"
ok "ndjson, disk full ($DISK_KIND) after $done_n records: exit 7 naming the file, output kept hidden; --resume exact"

# ---- 2. Unwritable output folder, output under a regular file, read-only run journal ----
chmod 755 "$TMP"
mkdir "$TMP/rootdir" && chmod 555 "$TMP/rootdir"  # (root-owned too when the test runs as root)
expect_exit 7 as_nobody "$BIN" -q --no-cache --out "$TMP/rootdir/out" -n 5
expect_stderr "cannot create output folder '$TMP/rootdir/out': Permission denied"
expect_exit 7 as_nobody "$BIN" -q --no-cache --out "$TMP/rootdir" -n 5
expect_stderr "cannot write to output folder '$TMP/rootdir': Permission denied"
[ -z "$(ls -A "$TMP/rootdir")" ] || fail "a refused run wrote into $TMP/rootdir"
: >"$TMP/afile"
expect_exit 7 "$BIN" -q --out "$TMP/afile/out" -n 5
expect_stderr "cannot create output folder '$TMP/afile/out': Not a directory"
ok "unwritable output folder ($NOBODY_HOW) and a path under a file: exit 7 naming the folder and the reason"

# An interrupted run (made by the unprivileged user), its folder then made read-only, then its journal.
mkdir "$TMP/nb" && chown "$NOBODY_UID" "$TMP/nb"
ro="$TMP/nb/run"
"${NOBODY_CMD[@]}" "$BIN" -q --no-cache --out "$ro" -n $N_N --seed 5 --format ndjson --jobs 2 >/dev/null 2>&1 &
pid=$!
wait_journal "$ro" 100 "$pid"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 8 ] || fail "SIGTERM exit status $rc, expected 8"
chmod a-w "$ro"
cp -a "$ro" "$TMP/ro.before"
expect_exit 7 as_nobody "$BIN" -q --no-cache --out "$ro" -n $N_N --seed 5 --format ndjson --resume
expect_stderr "cannot write to output folder '$ro': Permission denied"
diff -r "$ro" "$TMP/ro.before" >/dev/null || fail "a refused --resume (read-only folder) changed the folder"
chmod u+w "$ro"
chmod a-w "$ro/.llmsyn-journal"
expect_exit 7 as_nobody "$BIN" -q --no-cache --out "$ro" -n $N_N --seed 5 --format ndjson --resume
expect_stderr "cannot write run journal '$ro/.llmsyn-journal': Permission denied"
diff -r "$ro" "$TMP/ro.before" >/dev/null || fail "a refused --resume (read-only journal) changed the folder"
chmod u+w "$ro/.llmsyn-journal"
expect_exit 0 as_nobody "$BIN" -q --no-cache --out "$ro" -n $N_N --seed 5 --format ndjson --resume
same_records "$TMP/ref-ndjson" "$ro"
ok "read-only folder, then read-only run journal: exit 7 naming it, folder untouched; --resume exact"

# ---- 3. A model server that closes the connection mid-reply ----
# One answer per step, so records do not depend on the order requests reach the server.
mkdir "$TMP/answers"
for step in demographics main_diagnosis complications procedures prescriptions; do
    cp "$(ls "$ROOT/tests/data/openai/good/$step".*.txt | head -1)" "$TMP/answers/$step.one.txt"
done
start_model
expect_exit 0 gen_model -q --out "$TMP/m-ref" -n 40 --seed 6 --concurrency 4
stop_model
start_model --fault cut,cut,cut
expect_exit 0 gen_model -q --out "$TMP/m-cut" -n 40 --seed 6 --concurrency 4
same_records "$TMP/m-ref" "$TMP/m-cut"
python3 - "$TMP/m-cut/run-report.json" <<'PY' || fail "cut replies were not retried"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert t["retries"] == 3 and t["request_failures"] == 3 and t["model_calls"] == 160, t
PY
stop_model
ok "3 replies cut mid-body: retried, same records as a clean run, no call counted twice"

start_model --fault "$(printf 'cut,%.0s' $(seq 20))cut"
expect_exit 4 gen_model -q --out "$TMP/m-dead" -n 40 --seed 6 --concurrency 4 --max-retries 2 --max-failures 3
expect_stderr "Transferred a partial file"
no_tmp "$TMP/m-dead"
complete_bundles "$TMP/m-dead" "$TMP/m-ref" >/dev/null
stop_model
start_model
expect_exit 0 gen_model -q --out "$TMP/m-dead" -n 40 --seed 6 --concurrency 4 --resume
same_records "$TMP/m-ref" "$TMP/m-dead"
stop_model
ok "every reply cut: exit 4 after the retries naming the transfer error; --resume once it answers: exact"

# ---- 4. SIGINT and SIGTERM mid-run (openai backend, slowed server) ----
start_model
expect_exit 0 gen_model -q --out "$TMP/s-ref-bundles" -n 120 --seed 8 --concurrency 4
expect_exit 0 gen_model -q --out "$TMP/s-ref-ndjson" -n 120 --seed 8 --concurrency 4 --format ndjson
stop_model
start_model --delay 0.03
for case in INT:bundles TERM:ndjson; do
    sig=${case%%:*} fmt=${case#*:} out="$TMP/s-$sig"
    model_args  # run the tool itself in the background (not a function's subshell), so $! gets the signal
    "$BIN" "${MODEL_ARGS[@]}" --out "$out" -n 120 --seed 8 --concurrency 4 --format "$fmt" >"$TMP/stdout" 2>"$TMP/stderr" &
    pid=$!
    wait_journal "$out" 20 "$pid"
    kill "-$sig" "$pid"
    rc=0; wait "$pid" || rc=$?
    [ "$rc" -eq 8 ] || { cat "$TMP/stderr" >&2; fail "SIG$sig: exit status $rc, expected 8"; }
    expect_stderr "interrupted after"
    expect_stderr "records are complete in '$out'"
    expect_stderr "rerun the same command with --resume"
    no_tmp "$out"
    [ -z "$(find "$out" -maxdepth 1 -name '.*.partial')" ] || fail "SIG$sig: hidden partial files left"
    if [ "$fmt" = bundles ]; then
        n=$(complete_bundles "$out" "$TMP/s-ref-bundles")
        [ "$n" -lt 120 ] || fail "SIG$sig: the run finished before the signal"
    else  # the published files hold whole lines only: a prefix of the full run's, ending in a newline
        for f in "$out"/*.ndjson; do
            cmp -s -n "$(stat -c %s "$f")" "$f" "$TMP/s-ref-ndjson/$(basename "$f")" &&
                [ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "SIG$sig: $f is not whole records"
        done
    fi
    expect_exit 0 gen_model -q --out "$out" -n 120 --seed 8 --concurrency 4 --format "$fmt" --resume
    same_records "$TMP/s-ref-$fmt" "$out"
    ok "SIG$sig mid-run ($fmt): exit 8, says what was done and how to resume; --resume exact"
done
stop_model
echo "$checks checks passed"
