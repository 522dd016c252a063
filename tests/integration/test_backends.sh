# test_backends.sh - model traffic through the CLI against the local fake server: retries through faults,
# the consecutive-failure stop, the answer cache (zero requests, same bytes), tokens and cost in the report,
# and the azure, ollama and anthropic backends end to end.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
start_server() {
    python3 "$ROOT/tests/servers/fake_openai.py" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "fake server did not start: $(cat "$TMP/server.log")"
    BASE="http://127.0.0.1:$PORT"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; : >"$TMP/port"; }
trap 'stop_server; rm -rf "$TMP"' EXIT
# stat NAME: a counter of the running server (requests, peak_inflight, prompt_tokens, ...).
stat() { python3 -c "import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))[sys.argv[2]])" "$BASE/stats" "$1"; }
gen() { "$BIN" --llm openai --llm-url "$BASE/v1" --model fake-gpt -q --retry-base 0.05 "$@"; }

# Faults on the first requests: every one is retried and the run completes as if nothing happened.
start_server --fault 429,500,slow,garbage,truncated,503 --retry-after 1 --slow 3
expect_exit 0 gen --out "$TMP/f" -n 3 --seed 4 --timeout 1 --max-retries 6 --no-cache
check_bundles "$TMP/f" --expect 3
python3 - "$TMP/f/run-report.json" "$(stat requests)" <<'PY' || fail "fault report"
import json, sys
rep, served = json.load(open(sys.argv[1])), int(sys.argv[2])
t = rep["totals"]
assert t["model_calls"] == 12, t
assert t["retries"] == 6 and t["request_failures"] == 6, t
assert t["requests"] == 18 == served, (t, served)
assert sum(s["retries"] for s in rep["steps"]) == 6, rep["steps"]
assert "estimated_cost" not in t, t                 # no prices given
PY
stop_server
start_server
expect_exit 0 gen --out "$TMP/g" -n 3 --seed 4 --no-cache
same_records "$TMP/f" "$TMP/g"
stop_server
ok "429 with Retry-After, 500, 503, a timeout, garbage and truncated JSON survived; same records as a clean run"

# A dead server: the run stops after M failed requests in a row with a clear error, exit 4.
start_server --fail-first 100000
expect_exit 4 gen --out "$TMP/d" -n 5 --max-retries 50 --max-failures 3 --no-cache
expect_stderr "stopping after 3 consecutive failed model requests"
expect_stderr "HTTP 500"
[ "$(stat requests)" -eq 3 ] || fail "the server saw $(stat requests) requests, expected 3"
stop_server
ok "after 3 consecutive failures the run stops (exit 4) instead of hammering the server"

# The cache: a rerun into a new folder with the same seed sends no request and writes the same bytes,
# whatever --jobs; tokens and cost come from the server's usage.
start_server
expect_exit 0 gen --out "$TMP/c1" -n 6 --seed 9 --cache "$TMP/cache" --price-in 2.5 --price-out 10
first=$(stat requests)
[ "$first" -gt 0 ] || fail "no requests on a cold cache"
python3 - "$TMP/c1/run-report.json" "$first" "$(stat prompt_tokens)" "$(stat completion_tokens)" <<'PY' || fail "tokens and cost"
import json, sys
rep = json.load(open(sys.argv[1]))
served, pt, ct = map(int, sys.argv[2:5])
t = rep["totals"]
assert t["requests"] == served and t["cache_hits"] == 0, t
assert t["prompt_tokens"] == pt and t["completion_tokens"] == ct, (t, pt, ct)
assert abs(t["estimated_cost"] - (pt * 2.5 + ct * 10) / 1e6) < 1e-12, t
for s in rep["steps"]:
    assert abs(s["estimated_cost"] - (s["prompt_tokens"] * 2.5 + s["completion_tokens"] * 10) / 1e6) < 1e-12, s
assert abs(sum(s["estimated_cost"] for s in rep["steps"]) - t["estimated_cost"]) < 1e-12
PY
expect_exit 0 gen --out "$TMP/c2" -n 6 --seed 9 --cache "$TMP/cache" -j 3
[ "$(stat requests)" -eq "$first" ] || fail "the warm rerun sent $(( $(stat requests) - first )) requests"
same_records "$TMP/c1" "$TMP/c2"
python3 - "$TMP/c2/run-report.json" <<'PY' || fail "cache report"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert t["requests"] == 0 and t["cache_hits"] == t["model_calls"] > 0, t
assert t["prompt_tokens"] == 0 and t["completion_tokens"] == 0, t    # nothing billed
PY
grep -q "model: .* 0 requests sent" "$TMP/c2/run-report.txt" || fail "run-report.txt lacks the traffic line"
expect_exit 0 gen --out "$TMP/c3" -n 6 --seed 9 --cache "$TMP/cache" --no-cache
[ "$(stat requests)" -gt "$first" ] || fail "--no-cache still used the cache"
stop_server
ok "warm cache: zero requests, byte-identical records; tokens and cost match the server"

# Requests from every worker reach the server at once (never more than the workers).
start_server --delay 0.3
expect_exit 0 gen --out "$TMP/p" -n 8 -j 4 --no-cache
peak=$(stat peak_inflight)
[ "$peak" -ge 2 ] && [ "$peak" -le 4 ] || fail "peak in flight $peak, expected 2..4 with -j 4"
stop_server
ok "the server saw $peak requests in flight with 4 workers"

# Azure (deployment path, api-version, api-key header), Ollama native /api/chat, Anthropic /v1/messages.
start_server --require-key sk-ant-SECRET-1 --api-version 2024-10-21 --log "$TMP/req.jsonl"
expect_exit 0 env -u LLMSYN_API_KEY -u OPENAI_API_KEY AZURE_OPENAI_API_KEY=sk-ant-SECRET-1 \
    "$BIN" --llm azure --llm-url "$BASE" --model my-deployment --out "$TMP/az" -n 2 -q --cache "$TMP/c"
check_bundles "$TMP/az" --expect 2
expect_exit 0 env -u LLMSYN_API_KEY -u OPENAI_API_KEY ANTHROPIC_API_KEY=sk-ant-SECRET-1 \
    "$BIN" --llm anthropic --llm-url "$BASE" --model claude-test --temperature 0.5 --out "$TMP/an" -n 2 -q \
    --cache "$TMP/c"
check_bundles "$TMP/an" --expect 2
# Ollama takes no key; behind an authenticating proxy it sends LLMSYN_API_KEY as a bearer token.
expect_exit 0 env LLMSYN_API_KEY=sk-ant-SECRET-1 \
    "$BIN" --llm ollama --llm-url "$BASE" --model llama3.2 --out "$TMP/ol" -n 2 -q --cache "$TMP/c"
check_bundles "$TMP/ol" --expect 2
python3 - "$TMP/req.jsonl" <<'PY' || fail "native request bodies"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 24, len(reqs)                       # 3 backends x 2 records x 4 steps
anth = [r for r in reqs if r.get("model") == "claude-test"]
assert len(anth) == 8 and all("system" in r and r["max_tokens"] > 0 for r in anth), anth[0]
assert all(m["role"] != "system" for r in anth for m in r["messages"]), anth[0]
oll = [r for r in reqs if r.get("model") == "llama3.2"]
assert len(oll) == 8 and all(r["stream"] is False and "seed" in r["options"] for r in oll), oll[0]
PY
ANTHROPIC_API_KEY=wrong expect_exit 4 "$BIN" --llm anthropic --llm-url "$BASE" --model claude-test \
    --temperature 0.5 --out "$TMP/bad" -n 1 -q --no-cache
expect_stderr "HTTP 401"
grep -rq "SECRET" "$TMP/az" "$TMP/an" "$TMP/ol" "$TMP/c" "$TMP/stderr" && fail "a key was written"
stop_server
ok "azure, ollama native and anthropic end to end through the CLI; keys never written, not even to the cache"
# Structured output (off by default): a per-step JSON schema goes out, JSON answers come back as records.
start_server --answers "$ROOT/tests/data/openai/structured" --log "$TMP/structured.jsonl"
expect_exit 0 gen --out "$TMP/s1" -n 2 --no-cache --structured-output
check_bundles "$TMP/s1" --expect 2
expect_exit 0 "$BIN" --llm ollama --llm-url "$BASE" --model llama3.2 --out "$TMP/s2" -n 2 -q --no-cache \
    --structured-output
check_bundles "$TMP/s2" --expect 2
python3 - "$TMP/structured.jsonl" "$TMP/s1/record-0000000000.json" <<'PY' || fail "structured output"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
oa = [r for r in reqs if "response_format" in r]
ol = [r for r in reqs if "format" in r]
assert len(oa) == 8 and len(ol) == 8, (len(oa), len(ol))
js = [r for r in oa if r["response_format"]["json_schema"]["name"] == "llmsyn_complications"][0]["response_format"]["json_schema"]
assert js["strict"] is True and js["schema"]["properties"]["ICD9_CODE"]["type"] == "array", js
assert js["schema"]["required"][0] == "reasoning" and js["schema"]["additionalProperties"] is False, js
b = json.load(open(sys.argv[2]))
codes = {e["resource"]["code"]["coding"][0]["code"] for e in b["entry"] if e["resource"]["resourceType"] == "Condition"}
assert {"428.0", "584.9", "427.31"} <= codes, codes
PY
stop_server
start_server --log "$TMP/plain.jsonl"
expect_exit 0 gen --out "$TMP/s3" -n 1 --no-cache
grep -q '"response_format"' "$TMP/plain.jsonl" && fail "response_format sent without --structured-output"
stop_server
ok "--structured-output: per-step json_schema (openai) and format (ollama) answered as JSON; off by default"
# Rate-limit headers: a reply saying no requests remain (OpenAI x-ratelimit-*, Anthropic
# anthropic-ratelimit-*) holds the next request until the window resets 1 s later. A lower bound on the
# gap between the server's arrival times, not a speed target.
gap_after_first() {
    python3 - "$1" <<'PY' || fail "rate-limit pause ($2)"
import sys
t = [float(l) for l in open(sys.argv[1])]
assert len(t) >= 2, t
assert t[1] - t[0] >= 0.8, "second request %.3f s after the first" % (t[1] - t[0])
PY
}
start_server --ratelimit-first --time-log "$TMP/rl-times"
expect_exit 0 gen --out "$TMP/rl" -n 1 -j 1 --no-cache
check_bundles "$TMP/rl" --expect 1
gap_after_first "$TMP/rl-times" openai
stop_server
start_server --ratelimit-first --time-log "$TMP/rla-times"
expect_exit 0 env ANTHROPIC_API_KEY=k "$BIN" --llm anthropic --llm-url "$BASE" --model claude-test \
    --temperature 0.5 --out "$TMP/rla" -n 1 -j 1 -q --no-cache
check_bundles "$TMP/rla" --expect 1
gap_after_first "$TMP/rla-times" anthropic
stop_server
ok "x-ratelimit-remaining-requests: 0 (and anthropic-ratelimit-requests-remaining: 0) pause until the reset"
echo "$checks checks passed"
