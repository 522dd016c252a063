#!/usr/bin/env bash
# test_concurrency.sh - --concurrency N puts N model requests in flight over at most N pooled connections;
# the output bytes do not depend on N; an interrupt abandons the requests in flight and --resume completes the run.
. "$(dirname "$0")/lib.sh"

# One canned answer per step, so a request's answer depends only on its step, never on arrival order.
mkdir "$TMP/answers"
for step in demographics main_diagnosis complications procedures; do
    cp "$ROOT/tests/data/openai/good/$step.prose.txt" "$TMP/answers/$step.txt"
done

SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
start_server() {
    : >"$TMP/port"
    python3 "$ROOT/tests/servers/fake_openai.py" --answers "$TMP/answers" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "fake server did not start: $(cat "$TMP/server.log")"
}
stop_server() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
# srv_stat FILE NAME: a counter of the server's --stats file (peak_inflight: the most completion requests it
# held at once; connections: TCP connections it accepted; requests: completion requests it received).
srv_stat() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

for c in 1 8 64; do
    # The delay makes requests overlap: with C workers each blocked on one request, C are in flight.
    start_server --delay 0.3 --stats "$TMP/stats-$c.json"
    n=$((c * 2))
    [ "$c" -eq 1 ] && n=4
    expect_exit 0 "$BIN" -q --out "$TMP/out-$c" -n "$n" --seed 3 --format ndjson --llm openai \
        --llm-url "http://127.0.0.1:$PORT/v1" --model fake-model --concurrency "$c" --no-cache
    stop_server
    got=$(srv_stat "$TMP/stats-$c.json" peak_inflight)
    [ "$got" -eq "$c" ] || fail "--concurrency $c: the server saw at most $got requests in flight, not $c"
    # One shared pool: at most one connection per worker, kept alive and reused across records.
    conns=$(srv_stat "$TMP/stats-$c.json" connections)
    reqs=$(srv_stat "$TMP/stats-$c.json" requests)
    [ "$reqs" -eq $((n * 4)) ] || fail "--concurrency $c: $reqs requests for $n records of 4 calls"
    [ "$conns" -ge 1 ] && [ "$conns" -le "$c" ] || fail "--concurrency $c: $conns connections, expected 1..$c"
    ok "--concurrency $c: $got requests in flight, $reqs requests over $conns connections"
done

# Same records whatever the concurrency: --concurrency 8 and 64 against 1, on the same 16 records.
start_server
for c in 1 8 64; do
    expect_exit 0 "$BIN" -q --out "$TMP/same-$c" -n 16 --seed 3 --format ndjson --llm openai \
        --llm-url "http://127.0.0.1:$PORT/v1" --model fake-model --concurrency "$c" --no-cache
done
stop_server
same_records "$TMP/same-1" "$TMP/same-8"
same_records "$TMP/same-1" "$TMP/same-64"
ok "--concurrency 8 and 64 write the same bytes as --concurrency 1"

# SIGINT while records are in flight: their requests are abandoned (not finished), nothing half-made is
# written or journaled as failed, the run exits 8, and --resume completes exactly the uninterrupted output.
# With in-flight records finished instead, the server would see exactly 4 requests per journaled record.
journaled() { local n; n=$(wc -l <"$1/.llmsyn-journal"); echo $((n - 1)); }
start_server --delay 0.3
iargs=(-n 16 --seed 3 --format ndjson --llm openai --llm-url "http://127.0.0.1:$PORT/v1" --model fake-model
       --concurrency 4 --no-cache)
"$BIN" -q --out "$TMP/int" "${iargs[@]}" >"$TMP/stdout" 2>"$TMP/stderr" &
pid=$!
until [ -f "$TMP/int/.llmsyn-journal" ] && [ "$(journaled "$TMP/int")" -ge 2 ]; do
    kill -0 "$pid" 2>/dev/null || fail "the run ended before 2 records were journaled"
    sleep 0.02
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 8 ] || { cat "$TMP/stderr" >&2; fail "SIGINT exit status $rc, expected 8"; }
expect_stderr "--resume"
done_records=$(journaled "$TMP/int")
tail -n +2 "$TMP/int/.llmsyn-journal" | grep -q '^[0-9]* f ' && fail "the journal lists a failed record"
[ "$done_records" -lt 16 ] || fail "nothing was left to resume"
curl -s "http://127.0.0.1:$PORT/stats" >"$TMP/stats-int.json" || fail "cannot read the server's /stats"
reqs=$(srv_stat "$TMP/stats-int.json" requests)
[ "$reqs" -gt $((done_records * 4)) ] || fail "$reqs requests for $done_records records: in-flight ones were finished"
expect_exit 0 "$BIN" -q --out "$TMP/int" "${iargs[@]}" --resume
stop_server
same_records "$TMP/same-1" "$TMP/int"
ok "SIGINT after $done_records records: in-flight requests abandoned ($reqs sent), exit 8; --resume: same bytes"

expect_exit 2 "$BIN" -q --out "$TMP/bad" --concurrency 0
expect_stderr "--concurrency"
expect_exit 2 "$BIN" -q --out "$TMP/bad" --concurrency 257
ok "--concurrency outside 1..256: usage error"

echo "$checks checks passed"
