# test_retrieval_cli.sh - R(z_R|y_1) reaches the prompts: BM25 over the cards, a MedlinePlus dump, the live service.
. "$(dirname "$0")/lib.sh"

PIDS=()
start() { # start NAME SCRIPT ARGS...: a local test server; sets PORT
    local name=$1 script=$2; shift 2
    python3 "$ROOT/tests/servers/$script" "$@" >"$TMP/$name.port" 2>"$TMP/$name.log" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/$name.port")
    [ -n "$PORT" ] || fail "$name did not start: $(cat "$TMP/$name.log")"
}
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# Only the heart failure answers, so every record's main diagnosis is 428.0.
mkdir "$TMP/answers"
cp "$ROOT"/tests/data/openai/good/{demographics,complications,procedures}.prose.txt "$TMP/answers/"
cp "$ROOT/tests/data/openai/good/main_diagnosis.prose.txt" "$TMP/answers/"
grep -q "428.0" "$TMP/answers/main_diagnosis.prose.txt" || fail "fixture changed: main diagnosis is not 428.0"
start llm fake_openai.py --answers "$TMP/answers" --log "$TMP/llm.jsonl"
LLM="http://127.0.0.1:$PORT/v1"

expect_exit 0 "$BIN" --out "$TMP/a" -n 2 --llm openai --llm-url "$LLM" --model m -q \
    --medlineplus "$ROOT/tests/data/medlineplus/mplus_topics_sample.xml"
python3 - "$TMP/llm.jsonl" <<'PY' || fail "retrieved passages in the prompt"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
comp = [r["messages"][-1]["content"] for r in reqs if r["messages"][-1]["content"].startswith("Step: complications")]
assert len(comp) == 2, len(comp)
p = comp[0]
assert "Source:" in p, p
assert "cannot pump enough blood" in p, "the MedlinePlus heart failure topic was not retrieved"
assert "Gout" not in p and "Sleep apnea" not in p, "unrelated topics were retrieved"
PY
ok "mode full: BM25 passages for the main diagnosis, from the cards and a MedlinePlus dump, reach the prompt"

: >"$TMP/llm.jsonl"
expect_exit 0 "$BIN" --out "$TMP/p" -n 1 --llm openai --llm-url "$LLM" --model m -q --mode prior
grep -q "Source:" "$TMP/llm.jsonl" && fail "mode prior must not retrieve knowledge"
ok "mode prior: no retrieved knowledge"

start connect fake_medlineplus_connect.py --log "$TMP/connect.jsonl"
CONNECT="http://127.0.0.1:$PORT"
: >"$TMP/llm.jsonl"
expect_exit 0 "$BIN" --out "$TMP/l1" -n 3 --llm openai --llm-url "$LLM" --model m -q \
    --knowledge-live --knowledge-live-url "$CONNECT" --knowledge-cache "$TMP/cache"
n1=$(wc -l <"$TMP/connect.jsonl")
[ "$n1" -ge 1 ] || fail "the live service was not asked"
ls "$TMP/cache" | grep -q "428.0" || fail "no cached answer for 428.0: $(ls "$TMP/cache")"
expect_exit 0 "$BIN" --out "$TMP/l2" -n 3 --llm openai --llm-url "$LLM" --model m -q \
    --knowledge-live --knowledge-live-url "$CONNECT" --knowledge-cache "$TMP/cache"
[ "$(wc -l <"$TMP/connect.jsonl")" -eq "$n1" ] || fail "the rerun asked the live service again"
same_records "$TMP/l1" "$TMP/l2"
ok "--knowledge-live: asked once per code, answered from the cache on the rerun"
echo "$checks checks passed"
