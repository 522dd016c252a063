# test_llm_tls.sh - model backends over HTTPS with a private CA (--llm-cacert, LLMSYN_LLM_CACERT, --llm-insecure)
# against a real HTTP/2 server (node:http2): certificate failures, HTTP/2 multiplexing, same bytes at any concurrency.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is not installed"
command -v node >/dev/null || fail "node is not installed"
command -v curl >/dev/null || fail "curl is not installed"

# A throwaway CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
P="$TMP/pki"
mkdir "$P"
mkcerts() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=llmsyn model test CA" \
        -keyout "$P/ca.key" -out "$P/ca.pem" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$P/server.key" -out "$P/server.csr" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$P/server.ext" &&
    openssl x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
        -extfile "$P/server.ext" -out "$P/server.pem" &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout "$P/other.key" -out "$P/other.pem"
}
mkcerts >"$TMP/openssl.log" 2>&1 || fail "openssl: $(tail -3 "$TMP/openssl.log")"

SERVER_PID=""
start_server() {
    node "$ROOT/tests/servers/h2_openai.mjs" --answers "$ROOT/tests/data/openai/good" --suffix .prose.txt \
        --cert "$P/server.pem" --key "$P/server.key" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "h2 server did not start: $(cat "$TMP/server.log")"
    BASE="https://127.0.0.1:$PORT"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; : >"$TMP/port"; }
trap 'stop_server; rm -rf "$TMP"' EXIT
# stats: the server's counters since the last call (they are reset), as JSON in $TMP/stats.json.
stats() { curl -sf --cacert "$P/ca.pem" "$BASE/stats?reset=1" >"$TMP/stats.json" || fail "GET /stats"; }
# stat EXPR: a Python expression over the counters s.
stat() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($1)" "$TMP/stats.json"; }
export LLMSYN_API_KEY=sk-tls-test-7788
unset LLMSYN_LLM_CACERT
gen() { "$BIN" --llm openai --llm-url "$BASE/v1" --model fake-gpt -q --retry-base 0.05 "$@"; }

start_server --delay 0.1
stats

# 1. The system store does not know the private CA: exit 4, curl's reason, the URL, a hint; nothing written.
expect_exit 4 gen --out "$TMP/none" -n 3 --no-cache
expect_stderr "POST $BASE/v1/chat/completions failed"
grep -qiE "certificate (problem|verify)|unable to get local issuer" "$TMP/stderr" || { cat "$TMP/stderr"; fail "no certificate reason"; }
expect_stderr "--llm-cacert FILE"
grep -q "$LLMSYN_API_KEY" "$TMP/stderr" && fail "the API key leaked into the error"
ls "$TMP/none"/record-* >/dev/null 2>&1 && fail "a record was written after a TLS failure"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['records_ok'] == 0, r" "$TMP/none/run-report.json" ||
    fail "the run report counts successes after a TLS failure"
expect_exit 4 gen --out "$TMP/other" -n 1 --no-cache --llm-cacert "$P/other.pem"
expect_stderr "--llm-cacert FILE"
stats
[ "$(stat 's["requests"]')" -eq 0 ] || fail "the server answered a request over an unverified connection"
[ "$(stat 's["tls_errors"] >= 2')" = True ] || fail "the server saw no refused handshake: $(cat "$TMP/stats.json")"
[ "$(stat 's["tls_errors"] <= 2')" = True ] || fail "a certificate failure was retried: $(cat "$TMP/stats.json")"
ok "unknown CA (system store or another CA): exit 4 naming the URL and the certificate problem, no retry, nothing written"

# 2. --llm-cacert: the run succeeds over HTTP/2.
expect_exit 0 gen --out "$TMP/ca" -n 3 --seed 9 --no-cache --llm-cacert "$P/ca.pem"
check_bundles "$TMP/ca" --expect 3
stats
[ "$(stat 's["requests"]')" -eq 12 ] || fail "3 records x 4 steps: $(cat "$TMP/stats.json")"
[ "$(stat 's["protocols"] == {"h2": 12}')" = True ] || fail "not HTTP/2 (ALPN h2): $(cat "$TMP/stats.json")"
LLMSYN_LLM_CACERT="$P/ca.pem" expect_exit 0 gen --out "$TMP/env" -n 3 --seed 9 --no-cache
same_records "$TMP/ca" "$TMP/env"
ok "--llm-cacert (and LLMSYN_LLM_CACERT) verify the private CA: 3 records over HTTP/2"

# 3. --concurrency 8: one HTTP/2 connection carries many streams at once; same bytes as --concurrency 1.
stats
expect_exit 0 gen --out "$TMP/c8" -n 16 --seed 11 --no-cache --llm-cacert "$P/ca.pem" --concurrency 8
stats
cp "$TMP/stats.json" "$TMP/stats8.json"
python3 - "$TMP/stats8.json" <<'PY' || fail "HTTP/2 multiplexing at --concurrency 8: $(cat "$TMP/stats8.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["requests"] == 64, s                       # 16 records x 4 steps
assert s["protocols"] == {"h2": 64}, s              # ALPN h2 on every request
assert s["peak_session_streams"] > 1, s             # streams in flight together on one connection
assert 1 <= s["sessions"] < 8, s                    # fewer connections than requests in flight
PY
expect_exit 0 gen --out "$TMP/c1" -n 16 --seed 11 --no-cache --llm-cacert "$P/ca.pem" --concurrency 1
stats
[ "$(stat 's["peak_inflight"]')" -eq 1 ] || fail "--concurrency 1 had requests in flight together"
same_records "$TMP/c1" "$TMP/c8"
check_bundles "$TMP/c8" --expect 16
ok "--concurrency 8: $(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['peak_session_streams'], 'streams at once on', s['sessions'], 'HTTP/2 session(s)')" "$TMP/stats8.json"); bytes equal to --concurrency 1"

# 4. --llm-insecure: no CA needed, a warning on stderr (even with -q); the TLS options do not change the
#    cache key: a cached run with --llm-cacert is answered from the cache under --llm-insecure.
expect_exit 0 gen --out "$TMP/ins" -n 3 --seed 9 --no-cache --llm-insecure
expect_stderr "--llm-insecure"
expect_stderr "NOT verified"
same_records "$TMP/ca" "$TMP/ins"
expect_exit 0 gen --out "$TMP/k1" -n 3 --seed 9 --cache "$TMP/cache" --llm-cacert "$P/ca.pem"
grep -q "NOT verified" "$TMP/stderr" && fail "a warning without --llm-insecure"
stats
[ "$(stat 's["requests"]')" -eq 24 ] || fail "insecure and cache-filling runs: $(cat "$TMP/stats.json")"
expect_exit 0 gen --out "$TMP/k2" -n 3 --seed 9 --cache "$TMP/cache" --llm-insecure
stats
[ "$(stat 's["requests"]')" -eq 0 ] || fail "the TLS options changed the cache key: $(cat "$TMP/stats.json")"
same_records "$TMP/k1" "$TMP/k2"
ok "--llm-insecure works without the CA and warns; TLS options leave the cache key alone"

# 5. A missing or unusable CA file is refused before any request, naming the file; nothing is created.
expect_exit 3 gen --out "$TMP/miss" -n 2 --no-cache --llm-cacert "$TMP/no-such-ca.pem"
expect_stderr "--llm-cacert: cannot read '$TMP/no-such-ca.pem'"
[ -e "$TMP/miss" ] && fail "an output folder was made for a run with a missing CA file"
LLMSYN_LLM_CACERT="$TMP/no-such-ca.pem" expect_exit 3 gen --out "$TMP/miss" -n 2 --no-cache
expect_stderr "no-such-ca.pem"
expect_exit 3 gen --out "$TMP/miss" -n 2 --no-cache --llm-cacert "$P"
expect_stderr "is not a regular file"
stats
[ "$(stat 's["requests"] + s["tls_errors"] + s["sessions"]')" -eq 0 ] || fail "a request was sent: $(cat "$TMP/stats.json")"
ok "a missing CA file (flag or environment) or a folder: exit 3 naming it, before any request"

# 6. Every network backend takes the same TLS settings: without the CA a certificate error; with it the
#    server is reached (it speaks only OpenAI chat completions, so these answer 404: no certificate error).
for llm in azure ollama anthropic; do
    expect_exit 4 "$BIN" --llm "$llm" --llm-url "$BASE" --model m -q --out "$TMP/$llm" -n 1 --no-cache
    expect_stderr "--llm-cacert FILE"
    expect_exit 4 "$BIN" --llm "$llm" --llm-url "$BASE" --model m -q --out "$TMP/$llm-ca" -n 1 --no-cache \
        --llm-cacert "$P/ca.pem" --max-retries 0
    grep -qi "certificate" "$TMP/stderr" && { cat "$TMP/stderr"; fail "$llm: certificate error with --llm-cacert"; }
    expect_stderr "404"
done
ok "azure, ollama and anthropic verify with --llm-cacert too"
stop_server
echo "$checks checks passed"
