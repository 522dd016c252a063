# test_generate.sh - the default run: 100 valid bundles, a run report, the validate command agreeing, newborn demographics.
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

# Per-diagnosis marginals of the default prior: newborn main diagnoses are never married and never on
# Medicare, and V50.2 (circumcision of newborn boys) is always male (docs/prior-format.md, Sampling).
expect_exit 0 "$BIN" --out "$TMP/newborn" -n 300 -q
python3 - "$TMP/newborn" <<'PY' || fail "newborn demographics"
import datetime, glob, json, sys
# Per bundle: Patient age at admission (Encounter.period.start - birthDate), main diagnosis (Encounter.diagnosis
# rank 1), maritalStatus and Coverage. No Patient under 1 year may be other than never married (v3 "S") or on
# Medicare; no record with main diagnosis V50.2 may be female. Some newborns and a V50.2 record must occur.
young = v502 = 0
for path in sorted(glob.glob(sys.argv[1] + "/record-*.json")):
    res = [e["resource"] for e in json.load(open(path))["entry"]]
    pat = next(r for r in res if r["resourceType"] == "Patient")
    enc = next(r for r in res if r["resourceType"] == "Encounter")
    main = next(d for d in enc["diagnosis"] if d.get("rank") == 1)["condition"]["reference"].split(":")[-1]
    code = next(r for r in res if r["resourceType"] == "Condition" and r["id"] == main)["code"]["coding"][0]["code"]
    admitted = datetime.date.fromisoformat(enc["period"]["start"][:10])
    born = datetime.date.fromisoformat(pat["birthDate"])
    if (admitted.year - born.year) - ((admitted.month, admitted.day) < (born.month, born.day)) < 1:
        young += 1
        marital = [c["code"] for c in pat.get("maritalStatus", {}).get("coding", [])]
        assert marital == ["S"], (path, code, pat.get("maritalStatus"))
        payors = [r["type"].get("text") for r in res if r["resourceType"] == "Coverage"]
        assert "Medicare" not in payors, (path, code, payors)
    if code == "V50.2":
        v502 += 1
        assert pat["gender"] == "male", (path, pat["gender"])
assert young >= 5 and v502 >= 1, (young, v502)
print("%d patients under 1 year, %d V50.2 records" % (young, v502))
PY
ok "no patient under 1 year is married or on Medicare, no V50.2 record is female (300 records)"
echo "$checks checks passed"
