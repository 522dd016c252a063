# test_formats_modes.sh - NDJSON and CSV layouts, the ablation modes, the optional prescriptions step.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$BIN" --out "$TMP/nd" -n 50 --format ndjson -q
for t in Patient Encounter Condition Procedure; do
    [ -f "$TMP/nd/$t.ndjson" ] || fail "$t.ndjson missing"
done
[ "$(wc -l <"$TMP/nd/Patient.ndjson")" -eq 50 ] || fail "Patient.ndjson should hold 50 lines"
python3 - "$TMP/nd" <<'PY' || fail "ndjson lines"
import json, os, sys
d = sys.argv[1]
have, refs = set(), []
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "reference" and isinstance(v, str):
                refs.append(v)
            else:
                walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
for f in os.listdir(d):
    if f.endswith(".ndjson"):
        t = f[:-7]
        for line in open(os.path.join(d, f)):
            r = json.loads(line)
            assert r["resourceType"] == t
            have.add(t + "/" + r["id"])
            walk(r)
assert refs, "no references at all"
bad = [r for r in refs if r not in have]
assert not bad, f"{len(bad)} references are not literal Type/id of an exported resource, e.g. {bad[0]}"
PY
ls -a "$TMP/nd" | grep -q partial && fail "partial file left"
ok "ndjson: one file per type, one resource a line, every reference a literal Type/id that resolves"

expect_exit 0 "$BIN" --out "$TMP/csv" -n 20 --format csv -q
head -1 "$TMP/csv/records.csv" | grep -q '^RECORD_ID,GENDER,AGE,INSURANCE,LANGUAGE,RELIGION,MARITAL_STATUS,ETHNICITY,HOSPITAL_EXPIRE_FLAG,ICD9_CODE,COMPLICATION_CODES,CPT_CD' \
    || fail "csv header: $(head -1 "$TMP/csv/records.csv")"
[ "$(wc -l <"$TMP/csv/records.csv")" -eq 21 ] || fail "csv should have 21 lines"
ok "csv: the paper's flat table"

for m in full prior base; do
    expect_exit 0 "$BIN" --out "$TMP/m-$m" -n 200 --mode $m --format csv -q
done
python3 - "$TMP" <<'PY' || fail "modes"
import csv, sys, collections
t = sys.argv[1]
def rows(m): return list(csv.DictReader(open(f"{t}/m-{m}/records.csv")))
full, prior, base = rows("full"), rows("prior"), rows("base")
# full uses disease-specific knowledge: more distinct procedure codes than prior (generic card only)
cpts = lambda rs: len({c for r in rs for c in r["CPT_CD"].split(";")})
assert cpts(full) > cpts(prior), (cpts(full), cpts(prior))
# base ignores the prior's weights: the top diagnosis is rarer than with the prior
top = lambda rs: collections.Counter(r["ICD9_CODE"] for r in rs).most_common(1)[0][1]
assert top(base) < top(prior), (top(base), top(prior))
PY
ok "modes full / prior / base differ the way the ablation says"

expect_exit 0 "$BIN" --out "$TMP/rx" -n 20 --steps +prescriptions -q
check_bundles "$TMP/rx" --expect 20 --require MedicationRequest
python3 - "$TMP/rx/run-report.json" <<'PY' || fail "prescriptions step in report"
import json, sys
assert [s["step"] for s in json.load(open(sys.argv[1]))["steps"]][-1] == "prescriptions"
PY
expect_exit 0 "$BIN" --out "$TMP/norx" -n 5 -q
grep -l MedicationRequest "$TMP"/norx/record-*.json && fail "prescriptions must be off by default"
ok "--steps +prescriptions adds MedicationRequest; off by default"
echo "$checks checks passed"
