# test_generate.sh - the default run: 100 valid bundles, a run report, the validate command agreeing.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$BIN" --out "$TMP/out" -q
check_bundles "$TMP/out" --expect 100
ok "100 bundles pass the independent checker"

[ -f "$TMP/out/run-report.json" ] && [ -f "$TMP/out/run-report.txt" ] || fail "run report missing"
python3 - "$TMP/out/run-report.json" <<'PY' || fail "run report content"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "complete", r
assert r["records_ok"] == 100 and r["records_failed"] == 0, r
assert r["backend"] == "builtin" and r["mode"] == "full" and r["seed"] == 1, r
steps = [s["step"] for s in r["steps"]]
assert steps == ["demographics", "main_diagnosis", "complications", "procedures"], steps
assert all(s["model_calls"] == 100 for s in r["steps"]), r["steps"]
PY
ok "run report says complete, 100 records, builtin, the four steps"

expect_exit 0 "$BIN" validate "$TMP/out"
grep -q "100 bundles checked, 0 invalid" "$TMP/stdout" || fail "validate output: $(cat "$TMP/stdout")"
ok "llmsyn-fhir validate accepts the folder"

# The C checker must also reject a broken bundle.
cp "$TMP/out/record-0000000000.json" "$TMP/broken.json"
python3 - "$TMP/broken.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
for e in b["entry"]:
    if e["resource"]["resourceType"] == "Encounter":
        e["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-5000-8000-000000000000"
json.dump(b, open(sys.argv[1], "w"))
PY
expect_exit 5 "$BIN" validate "$TMP/broken.json"
ok "validate rejects a dangling reference with exit 5"

# The prior's main-diagnosis distribution shows up: the most frequent main diagnosis over 2000 records
# is among the prior's five heaviest codes.
expect_exit 0 "$BIN" --out "$TMP/csv" -n 2000 --format csv -q
python3 - "$TMP/csv/records.csv" "$ROOT/mappings/prior.json" <<'PY' || fail "main diagnosis distribution"
import csv, json, sys, collections
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2000, len(rows)
prior = json.load(open(sys.argv[2]))
top5 = [d["code"] for d in sorted(prior["diagnoses"], key=lambda d: -d["weight"])[:5]]
c = collections.Counter(r["ICD9_CODE"] for r in rows)
assert c.most_common(1)[0][0] in top5, (c.most_common(3), top5)
deaths = sum(int(r["HOSPITAL_EXPIRE_FLAG"]) for r in rows) / len(rows)
assert 0.03 < deaths < 0.30, deaths
assert all(r["CPT_CD"] for r in rows), "a record without procedures"
PY
ok "main diagnoses and mortality follow the prior over 2000 records"
echo "$checks checks passed"
