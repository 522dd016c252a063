# test_valgrind.sh - valgrind memcheck finds no leak (definite, indirect, possible) and no memory error in a
# 100-record run of every backend (builtin, openai with faults and live MedlinePlus retrieval, azure, ollama,
# anthropic), in `post` of 100 bundles over HTTP (with server faults) and HTTPS, and in `generate --post`.
# The normal pass of make test only: a sanitized binary cannot run under valgrind (docs/testing.md).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"
command -v valgrind >/dev/null || fail "valgrind is not installed (tools/install-deps.sh installs it)"
command -v openssl >/dev/null || fail "openssl is not installed"

PIDS=()
# start_py NAME SCRIPT ARGS...: a local Python test server; sets PY_URL.
start_py() {
    local name=$1 script=$2 port=""; shift 2
    python3 "$ROOT/tests/servers/$script" "$@" >"$TMP/$name.port" 2>"$TMP/$name.log" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    port=$(head -1 "$TMP/$name.port")
    [ -n "$port" ] || fail "$name did not start: $(cat "$TMP/$name.log")"
    PY_URL="http://127.0.0.1:$port"
}
trap 'stop_server; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# vg NAME STATUS CMD...: runs CMD (the binary itself: valgrind does not follow exec) under memcheck; asserts its exit status, that valgrind ran it to the end,
# and a report with no error and no definite, indirect or possible leak (each counts as an error).
vg() {
    local name=$1 want=$2 got=0 start=$SECONDS; shift 2
    local log="$TMP/vg-$name.log"
    valgrind --log-file="$log" --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=97 --num-callers=30 \
        "$@" >"$TMP/stdout" 2>"$TMP/stderr" || got=$?
    if [ "$got" -ne "$want" ] || ! grep -q "ERROR SUMMARY: 0 errors from 0 contexts" "$log" ||
       ! grep -q "HEAP SUMMARY" "$log"; then
        tail -n 5 "$TMP/stderr" >&2
        grep -v '^==[0-9]*== *$' "$log" | head -n 120 >&2
        fail "valgrind $name: exit $got (expected $want), see the report above"
    fi
    INUSE=$(sed -n 's/.*in use at exit: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1)
    echo "valgrind $name: $((SECONDS - start)) s"
}

# 1. builtin backend.
vg builtin 0 "$BIN" -n 100 --seed 21 --out "$TMP/builtin" -q
check_bundles "$TMP/builtin" --expect 100
ok "builtin: 100 records, memcheck clean ($INUSE bytes in use at exit)"

# 2. openai, through 429/500/garbage/truncated replies (retried) and with live MedlinePlus Connect retrieval.
start_py llm fake_openai.py --fault 429,500,garbage,truncated --retry-after 0
LLM=$PY_URL
start_py connect fake_medlineplus_connect.py --log "$TMP/connect.jsonl"
vg openai 0 "$BIN" --llm openai --llm-url "$LLM/v1" --model fake-gpt -n 100 -j 4 --seed 22 --out "$TMP/openai" -q \
    --retry-base 0.05 --no-cache --knowledge-live --knowledge-live-url "$PY_URL" --knowledge-cache "$TMP/kcache"
check_bundles "$TMP/openai" --expect 100
[ -s "$TMP/connect.jsonl" ] || fail "the live knowledge service was not asked"
python3 - "$TMP/openai/run-report.json" <<'PY' || fail "openai run report"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert t["retries"] >= 4 and t["model_calls"] == 400, t
PY
ok "openai: 100 records through 4 faults and live retrieval, memcheck clean ($INUSE bytes in use at exit)"

# 3. azure (answers go to a cache), anthropic, ollama (answers from the same cache folder, other keys).
AZURE_OPENAI_API_KEY=sk-vg-1 vg azure 0 "$BIN" --llm azure --llm-url "$LLM" --model dep -n 100 -j 4 \
    --seed 23 --out "$TMP/azure" -q --cache "$TMP/cache"
check_bundles "$TMP/azure" --expect 100
ok "azure: 100 records written through the answer cache, memcheck clean ($INUSE bytes in use at exit)"
ANTHROPIC_API_KEY=sk-vg-2 vg anthropic 0 "$BIN" --llm anthropic --llm-url "$LLM" --model claude-test \
    --temperature 0.5 -n 100 -j 4 --seed 24 --out "$TMP/anthropic" -q --no-cache
check_bundles "$TMP/anthropic" --expect 100
ok "anthropic: 100 records, memcheck clean ($INUSE bytes in use at exit)"
vg ollama 0 "$BIN" --llm ollama --llm-url "$LLM" --model llama3.2 -n 100 -j 4 --seed 25 --out "$TMP/ollama" -q \
    --cache "$TMP/cache"
check_bundles "$TMP/ollama" --expect 100
ok "ollama: 100 records, memcheck clean ($INUSE bytes in use at exit)"
# The azure run again: every answer from the cache, no request.
AZURE_OPENAI_API_KEY=sk-vg-1 vg azure-cached 0 "$BIN" --llm azure --llm-url "$LLM" --model dep -n 100 -j 4 \
    --seed 23 --out "$TMP/azure2" -q --cache "$TMP/cache"
same_records "$TMP/azure" "$TMP/azure2"
ok "azure from the cache: same records, memcheck clean ($INUSE bytes in use at exit)"

# Error exits free everything too: a model server that only fails (exit 4).
start_py dead fake_openai.py --fail-first 100000
vg dead-model 4 "$BIN" --llm openai --llm-url "$PY_URL/v1" --model fake-gpt -n 100 --out "$TMP/dead" -q \
    --retry-base 0.01 --max-failures 3 --no-cache
grep -q "stopping after 3 consecutive failed model requests" "$TMP/stderr" || fail "dead model: $(cat "$TMP/stderr")"
ok "a dead model server: exit 4, memcheck clean ($INUSE bytes in use at exit)"

# 4. post over HTTP through 429, 503, connection resets and a failed transaction entry (all retried);
#    before that, refused credentials (exit 6).
start_server --bearer tok-vg --fault 429:2:1 --fault 503:2 --fault reset:2 --fault entry-fail:1
vg post-refused 6 "$BIN" post "$TMP/builtin" --to "$URL" --bearer wrong-token -q
[ "$(stat posts)" -eq 0 ] || fail "bundles were sent with refused credentials"
ok "post with refused credentials: exit 6, memcheck clean ($INUSE bytes in use at exit)"
vg post 0 "$BIN" post "$TMP/builtin" --to "$URL" --bearer tok-vg --concurrency 4 -q
same_counts "$TMP/builtin" "post"
[ "$(stat faultsServed)" -eq 7 ] || fail "the server served $(stat faultsServed) of 7 faults"
ok "post: 100 bundles through 7 server faults, memcheck clean ($INUSE bytes in use at exit)"

# 5. generate --post to the same server.
vg generate-post 0 "$BIN" -n 100 -j 2 --seed 26 --out "$TMP/gp" --post "$URL" --bearer tok-vg \
    --post-concurrency 4 -q
[ "$(grep -c '"outcome":"ok"' "$TMP/gp/post-journal.ndjson")" -eq 100 ] || fail "generate --post journal"
ok "generate --post: 100 records posted, memcheck clean ($INUSE bytes in use at exit)"
stop_server

# 6. post over HTTPS (OpenSSL), the server certificate verified with --cacert.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl.log" 2>&1 || fail "openssl: $(tail -3 "$TMP/openssl.log")"
start_server --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
# shellcheck disable=SC2034 # read by testlib.sh's stat and same_counts
CURL_TLS="--cacert $TMP/cert.pem"
vg post-tls 0 "$BIN" post "$TMP/openai" --to "$URL" --cacert "$TMP/cert.pem" --concurrency 4 -q
same_counts "$TMP/openai" "post over https"
ok "post over HTTPS: 100 bundles, memcheck clean ($INUSE bytes in use at exit)"
echo "$checks checks passed"
