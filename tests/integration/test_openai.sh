# test_openai.sh - the openai backend end to end against a local server speaking chat completions.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
start_server() {
    python3 "$ROOT/tests/servers/fake_openai.py" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "fake server did not start: $(cat "$TMP/server.log")"
    URL="http://127.0.0.1:$PORT/v1"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; : >"$TMP/port"; }
trap 'stop_server; rm -rf "$TMP"' EXIT

# Canned answers in several realistic formats: reasoning + final output, markdown table, code fence,
# codes without dots, bold bullet lists.
start_server --answers "$ROOT/tests/data/openai/good" --log "$TMP/requests.jsonl" --require-key sk-test-SECRET-4242
LLMSYN_API_KEY=sk-test-SECRET-4242 expect_exit 0 "$BIN" --out "$TMP/o" -n 12 --llm openai --llm-url "$URL" \
    --model fake-gpt --seed 3 -q
check_bundles "$TMP/o" --expect 12
python3 - "$TMP/requests.jsonl" "$TMP/o/run-report.json" <<'PY' || fail "requests or report"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 48, len(reqs)          # 12 records x 4 steps, no re-ask
assert all(r["model"] == "fake-gpt" for r in reqs)
assert all(r["messages"][-1]["role"] == "user" and r["messages"][-1]["content"].startswith("Step: ") for r in reqs)
assert all("seed" in r and "temperature" in r for r in reqs)
rep = json.load(open(sys.argv[2]))
assert rep["backend"] == "openai" and rep["model"] == "fake-gpt" and rep["records_ok"] == 12, rep
assert sum(s["prompt_tokens"] for s in rep["steps"]) > 0, rep["steps"]
PY
grep -rq "sk-test-SECRET-4242" "$TMP/o" "$TMP/stderr" "$TMP/stdout" && fail "the API key leaked into output"
ok "12 records through the openai backend; requests well-formed; key never written"

LLMSYN_API_KEY=wrong-key expect_exit 4 "$BIN" --out "$TMP/k" -n 2 --llm openai --llm-url "$URL" --model fake-gpt -q
expect_stderr "401"
grep -q "wrong-key" "$TMP/stderr" && fail "a key appeared in an error message"
ok "a refused key: exit 4 naming the status, key not echoed"
stop_server

# A malformed answer (no ICD9_CODE) must trigger exactly one re-ask, which then succeeds.
start_server --answers "$ROOT/tests/data/openai/reask" --log "$TMP/reask.jsonl"
expect_exit 0 "$BIN" --out "$TMP/r" -n 3 --llm openai --llm-url "$URL" --model fake-gpt -q
check_bundles "$TMP/r" --expect 3
python3 - "$TMP/reask.jsonl" "$TMP/r/run-report.json" <<'PY' || fail "re-ask flow"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
reasks = [r for r in reqs if len([m for m in r["messages"] if m["role"] == "user"]) > 1]
assert len(reasks) == 3, len(reasks)
assert all("ICD9_CODE" in r["messages"][-1]["content"] for r in reasks), reasks[0]["messages"][-1]
rep = json.load(open(sys.argv[2]))
md = [s for s in rep["steps"] if s["step"] == "main_diagnosis"][0]
assert md["reasks"] == 3 and md["failures"] == 0, md
PY
ok "malformed answer: one re-ask quoting the parse error, then the record completes"
stop_server

# A server that never answers usably: every record fails with its reason; the run still ends cleanly.
mkdir "$TMP/bad" && cp "$ROOT"/tests/data/openai/good/demographics.*.txt "$TMP/bad/"
printf 'I cannot help with that.\n' >"$TMP/bad/main_diagnosis.1.txt"
start_server --answers "$TMP/bad"
expect_exit 0 "$BIN" --out "$TMP/f" -n 2 --llm openai --llm-url "$URL" --model fake-gpt -q
expect_stderr "2 records failed"
python3 - "$TMP/f/run-report.json" <<'PY' || fail "failure reasons"
import json, sys
rep = json.load(open(sys.argv[1]))
assert rep["records_failed"] == 2 and rep["records_ok"] == 0, rep
assert all("main_diagnosis" in f["reason"] and "ICD9_CODE" in f["reason"] for f in rep["failures"]), rep["failures"]
PY
ok "unusable answers: records reported failed with the step and reason"
stop_server

# Invented, header and retired codes: one repair re-ask quoting them with candidates; what the repair
# fixes is kept, the rest is dropped with its reason in the report.
start_server --answers "$ROOT/tests/data/openai/repair" --log "$TMP/repair.jsonl"
expect_exit 0 "$BIN" --out "$TMP/rep" -n 2 --llm openai --llm-url "$URL" --model fake-gpt -q
check_bundles "$TMP/rep" --expect 2
python3 - "$TMP/repair.jsonl" "$TMP/rep/run-report.json" "$TMP/rep/record-0000000000.json" <<'PY' || fail "repair flow"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
repairs = [r for r in reqs if len([m for m in r["messages"] if m["role"] == "user"]) > 1]
assert len(repairs) == 2, len(repairs)
ask = repairs[0]["messages"][-1]["content"]
for code in ("123.45", "428", "276.5"):
    assert f"'{code}'" in ask, ask
assert "428.0" in ask and "Nearest valid codes" in ask, ask
rep = json.load(open(sys.argv[2]))
comp = [s for s in rep["steps"] if s["step"] == "complications"][0]["codes"]
assert comp["valid_first_time"] == 2 and comp["repaired"] == 4 and comp["dropped"] == 2, comp  # per record 1, 2, 1
assert comp["repair_requests"] == 2, comp
drops = rep["dropped_codes"]
assert [d["code"] for d in drops] == ["123.45", "123.45"], drops
assert "not a code" in drops[0]["reason"], drops
assert rep["code_validation"]["cpt"] == "structural", rep["code_validation"]
b = json.load(open(sys.argv[3]))
codes = [e["resource"]["code"]["coding"][0] for e in b["entry"] if e["resource"]["resourceType"] == "Condition"]
got = [c["code"] for c in codes]
assert "123.45" not in got and "428" not in got and "276.5" not in got, got
assert "428.0" in got and "276.51" in got, got
assert all(c.get("display") for c in codes), codes      # displays come from the dictionary
d = [c for c in codes if c["code"] == "428.0"][0]["display"]
assert d == "Congestive heart failure, unspecified", d
PY
ok "invented / header / retired codes repaired or dropped with their reason"
stop_server

# Nobody listening: a clear backend error, exit 4.
expect_exit 4 "$BIN" --out "$TMP/d" -n 1 --llm openai --llm-url "http://127.0.0.1:9/v1" --model m -q
expect_stderr "127.0.0.1:9"
ok "unreachable server: exit 4 naming the URL"
echo "$checks checks passed"
