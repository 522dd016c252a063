# test_procedure_codes.sh - --procedure-codes cpt|icd9: ICD-9-CM volume 3 procedures end to end (builtin and
# openai backends), the CPT default unchanged, and a bad value refused.
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

# Builtin backend: every Procedure carries a billable ICD-9-CM volume 3 code with the dictionary's display.
expect_exit 0 "$BIN" --out "$TMP/px" -n 30 --seed 5 --procedure-codes icd9 -q
check_bundles "$TMP/px" --expect 30 --procedure-system icd9
python3 - "$TMP/px" >"$TMP/px-codes.tsv" <<'PY' || fail "icd9 procedures in the bundles"
import glob, json, sys
n = 0
for path in sorted(glob.glob(sys.argv[1] + "/record-*.json")):
    b = json.load(open(path))
    procs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Procedure"]
    assert procs, path
    for p in procs:
        c = p["code"]["coding"][0]
        assert c["system"] == "http://hl7.org/fhir/sid/icd-9-cm", c
        print("%s\t%s" % (c["code"], c["display"]))
        n += 1
assert n >= 30, n
PY
sort -u "$TMP/px-codes.tsv" >"$TMP/px-distinct.tsv"
[ "$(wc -l <"$TMP/px-distinct.tsv")" -ge 3 ] || fail "fewer than 3 distinct ICD-9-CM procedure codes"
while IFS="$(printf '\t')" read -r code display; do
    "$BIN" codes lookup --system icd9-px "$code" >"$TMP/lookup" 2>&1 || fail "codes lookup $code: $(cat "$TMP/lookup")"
    grep -q '^status: *billable' "$TMP/lookup" || fail "$code is not billable: $(cat "$TMP/lookup")"
    grep -qxF "display:    $display" "$TMP/lookup" || fail "$code: bundle display '$display' is not the dictionary's"
done <"$TMP/px-distinct.tsv"
python3 - "$TMP/px/run-report.json" "$(wc -l <"$TMP/px-codes.tsv")" <<'PY' || fail "run report of an icd9 run"
import json, sys
rep = json.load(open(sys.argv[1]))
steps = [s["step"] for s in rep["steps"]]
assert steps == ["demographics", "main_diagnosis", "complications", "procedures_icd9"], steps
px = [s for s in rep["steps"] if s["step"] == "procedures_icd9"][0]["codes"]
assert px["valid_first_time"] == int(sys.argv[2]) and px["dropped"] == 0 and px["repaired"] == 0, px
assert rep["records_ok"] == 30 and rep["records_failed"] == 0, rep
PY
ok "builtin --procedure-codes icd9: billable ICD-9-CM procedure codes with dictionary displays, counted valid"

# The flat CSV's CPT_CD column holds the run's procedure codes: here ICD-9-CM volume 3, dotted.
expect_exit 0 "$BIN" --out "$TMP/pxcsv" -n 5 --seed 5 --procedure-codes icd9 --format csv -q
python3 - "$TMP/pxcsv/records.csv" <<'PY' || fail "flat CSV of an icd9 run"
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 5, len(rows)
for r in rows:
    codes = r["CPT_CD"].split(";")
    assert codes and all(re.fullmatch(r"[0-9]{2}\.[0-9]{1,2}", c) for c in codes), r["CPT_CD"]
PY
ok "flat CSV: CPT_CD holds the ICD-9-CM procedure codes in icd9 mode"

# --steps +procedures_icd9 is the same switch.
expect_exit 0 "$BIN" --out "$TMP/pxsteps" -n 30 --seed 5 --steps +procedures_icd9 -q
same_records "$TMP/px" "$TMP/pxsteps"
ok "--steps +procedures_icd9 selects the same step"

# The default stays CPT, byte for byte the same as an explicit --procedure-codes cpt.
expect_exit 0 "$BIN" --out "$TMP/cpt1" -n 10 --seed 5 -q
expect_exit 0 "$BIN" --out "$TMP/cpt2" -n 10 --seed 5 --procedure-codes cpt -q
check_bundles "$TMP/cpt1" --expect 10
same_records "$TMP/cpt1" "$TMP/cpt2"
python3 - "$TMP/cpt1/run-report.json" <<'PY' || fail "cpt run report"
import json, sys
steps = [s["step"] for s in json.load(open(sys.argv[1]))["steps"]]
assert steps == ["demographics", "main_diagnosis", "complications", "procedures"], steps
PY
python3 "$ROOT/tests/integration/check_bundles.py" "$TMP/cpt1" --procedure-system icd9 >/dev/null 2>&1 &&
    fail "CPT bundles passed the icd9 procedure check"
ok "--procedure-codes cpt (the default): CPT procedures, output unchanged"

# A bad value is a usage error.
expect_exit 2 "$BIN" --out "$TMP/bad" -n 1 --procedure-codes icd10
expect_stderr "--procedure-codes: unknown value 'icd10'"
[ -e "$TMP/bad" ] && fail "a usage error created the output folder"
ok "--procedure-codes icd10: exit 2"

# openai backend: an invented and an unknown procedure code get one repair re-ask quoting them with
# candidates; the repaired one is kept, the other dropped with its reason.
start_server --answers "$ROOT/tests/data/openai/icd9px" --log "$TMP/px.jsonl"
expect_exit 0 "$BIN" --out "$TMP/pxo" -n 2 --llm openai --llm-url "$URL" --model fake-gpt --procedure-codes icd9 -q
stop_server
check_bundles "$TMP/pxo" --expect 2 --procedure-system icd9
python3 - "$TMP/px.jsonl" "$TMP/pxo/run-report.json" "$TMP/pxo/record-0000000000.json" <<'PY' || fail "icd9 repair"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
steps = [r["messages"][-1]["content"].split("\n", 1)[0] for r in reqs]
assert "Step: procedures" not in steps, steps
first = [r for r in reqs if r["messages"][-1]["content"].startswith("Step: procedures_icd9")]
assert len(first) == 2 and "ICD9_PROC_CODE" in first[0]["messages"][-1]["content"], first[0]
repairs = [r for r in reqs if len([m for m in r["messages"] if m["role"] == "user"]) > 1]
assert len(repairs) == 2, len(repairs)
ask = repairs[0]["messages"][-1]["content"]
assert "ICD9_PROC_CODE '96.73'" in ask and "ICD9_PROC_CODE '45.99'" in ask and "Nearest valid codes" in ask, ask
assert "96.71" in ask, ask
rep = json.load(open(sys.argv[2]))
px = [s for s in rep["steps"] if s["step"] == "procedures_icd9"][0]["codes"]
assert px["valid_first_time"] == 6 and px["repaired"] == 2 and px["dropped"] == 2, px
assert px["repair_requests"] == 2, px
drops = rep["dropped_codes"]
assert [d["code"] for d in drops] == ["45.99", "45.99"], drops
assert all(d["step"] == "procedures_icd9" and "not a code" in d["reason"] for d in drops), drops
b = json.load(open(sys.argv[3]))
codes = [e["resource"]["code"]["coding"][0] for e in b["entry"] if e["resource"]["resourceType"] == "Procedure"]
got = [c["code"] for c in codes]
assert got == ["96.04", "38.93", "99.04", "96.71"], got
disp = {c["code"]: c["display"] for c in codes}
assert disp["96.71"] == "Continuous invasive mechanical ventilation for less than 96 consecutive hours", disp
assert disp["38.93"] == "Venous catheterization, not elsewhere classified", disp
PY
ok "openai --procedure-codes icd9: invented code repaired, unknown code dropped with its reason"

# tools/check-knowledge.py validates the cards' icd9_procedure_codes against CMS v32 (volume 3).
DATA="$ROOT/../shared/data"
expect_exit 0 python3 "$ROOT/tools/check-knowledge.py" "$DATA"
python3 - "$ROOT/mappings/knowledge.json" "$TMP" <<'PY' || fail "making broken knowledge copies"
import json, sys
src, out = sys.argv[1], sys.argv[2]
def variant(name, change):
    doc = json.load(open(src, encoding="utf-8"))
    change(doc["cards"])
    json.dump(doc, open("%s/%s.json" % (out, name), "w", encoding="utf-8"))
def card(cards, code):
    return [c for c in cards if c["icd9"] == code][0]
variant("px-invented", lambda cards: card(cards, "518.81")["icd9_procedure_codes"][0].update(code="96.73"))
variant("px-undotted", lambda cards: card(cards, "428.0")["icd9_procedure_codes"][0].update(code="8872"))
variant("px-generic", lambda cards: card(cards, "*").pop("icd9_procedure_codes"))
variant("px-few", lambda cards: card(cards, "486").update(icd9_procedure_codes=[]))
PY
check_bad() {
    expect_exit 1 python3 "$ROOT/tools/check-knowledge.py" "$DATA" --knowledge "$TMP/$1.json"
    grep -qF -- "$2" "$TMP/stderr" || { cat "$TMP/stderr" >&2; fail "$1: stderr lacks '$2'"; }
}
check_bad px-invented "icd9_procedure_codes[0].code: 96.73 is not a billable code in CMS32_DESC_LONG_SG.txt"
check_bad px-undotted "8872 is not an icd-9-cm procedure code with its dot after two digits"
check_bad px-generic "(*).icd9_procedure_codes: missing"
check_bad px-few "icd9_procedure_codes: has 0 entries, want 3-8"
# The builtin backend refuses a knowledge base whose generic card has no ICD-9-CM procedure hints.
expect_exit 3 "$BIN" --out "$TMP/nogeneric" -n 2 --procedure-codes icd9 --mode prior --knowledge "$TMP/px-generic.json" -q
expect_stderr "the generic '*' card has no icd9_procedure_codes"
ok "check-knowledge.py refuses invented, undotted and missing ICD-9-CM procedure hints; builtin needs the generic list"

echo "test_procedure_codes: $checks checks passed"
