#!/usr/bin/env bash
# test_concurrency.sh - --concurrency N puts N model requests in flight; the output bytes do not depend on N.
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
# peak: the most completion requests the server held at once.
peak() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peak_inflight"])' "$1"; }

for c in 1 8 64; do
    # The delay makes requests overlap: with C workers each blocked on one request, C are in flight.
    start_server --delay 0.3 --stats "$TMP/stats-$c.json"
    n=$((c * 2))
    [ "$c" -eq 1 ] && n=4
    expect_exit 0 "$BIN" -q --out "$TMP/out-$c" -n "$n" --seed 3 --format ndjson --llm openai \
        --llm-url "http://127.0.0.1:$PORT/v1" --model fake-model --concurrency "$c" --no-cache
    stop_server
    got=$(peak "$TMP/stats-$c.json")
    [ "$got" -ge "$c" ] || fail "--concurrency $c: the server saw at most $got requests in flight"
    [ "$c" -ne 1 ] || [ "$got" -eq 1 ] || fail "--concurrency 1: the server saw $got requests in flight"
    ok "--concurrency $c: the server saw $got requests in flight"
done

# Same records whatever the concurrency: --concurrency 8 and 64 against 1, on the same 16 records.
start_server
for c in 1 8; do
    expect_exit 0 "$BIN" -q --out "$TMP/same-$c" -n 16 --seed 3 --format ndjson --llm openai \
        --llm-url "http://127.0.0.1:$PORT/v1" --model fake-model --concurrency "$c" --no-cache
done
stop_server
same_records "$TMP/same-1" "$TMP/same-8"
ok "--concurrency 8 writes the same bytes as --concurrency 1"

expect_exit 2 "$BIN" -q --out "$TMP/bad" --concurrency 0
expect_stderr "--concurrency"
expect_exit 2 "$BIN" -q --out "$TMP/bad" --concurrency 257
ok "--concurrency outside 1..256: usage error"

echo "$checks checks passed"
