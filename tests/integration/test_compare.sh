# test_compare.sh - `compare`: Synthea sample vs 200 llmsyn-fhir records vs the MIMIC-III demo; synthea-csv output.
. "$(dirname "$0")/lib.sh"
DATA=${LLMSYN_SHARED_DATA:-$ROOT/../shared/data}
SAMPLE=$DATA/synthea-sample

# (mode prior: this test is about the output format and the comparison, not retrieval)
# --format synthea-csv: Synthea's four files with Synthea's exact header lines, one patient and one encounter
# per record, a condition row per diagnosis and a procedure row per CPT code (counted in the flat CSV).
expect_exit 0 "$BIN" --out "$TMP/syn" -n 200 --mode prior --format synthea-csv -q
expect_exit 0 "$BIN" --out "$TMP/flat" -n 200 --mode prior --format csv -q
for f in patients encounters conditions procedures; do
    [ -f "$TMP/syn/$f.csv" ] || fail "$f.csv missing"
    [ "$(head -1 "$TMP/syn/$f.csv")" = "$(head -1 "$SAMPLE/csv/$f.csv" | tr -d '\r')" ] \
        || fail "$f.csv header differs from Synthea's: $(head -1 "$TMP/syn/$f.csv")"
done
ls -a "$TMP/syn" | grep -q partial && fail "partial file left"
python3 - "$TMP/syn" "$TMP/flat/records.csv" <<'PY' || fail "synthea-csv rows"
import csv, os, sys
d, flat = sys.argv[1], sys.argv[2]
rows = {f: list(csv.DictReader(open(os.path.join(d, f + ".csv"), newline=""))) for f in
        ("patients", "encounters", "conditions", "procedures")}
recs = list(csv.DictReader(open(flat, newline="")))
assert len(rows["patients"]) == 200 and len(rows["encounters"]) == 200, "one patient and encounter per record"
ndx = sum(1 + len([c for c in r["COMPLICATION_CODES"].split(";") if c]) for r in recs)
npx = sum(len([c for c in r["CPT_CD"].split(";") if c]) for r in recs)
assert len(rows["conditions"]) == ndx, (len(rows["conditions"]), ndx)
assert len(rows["procedures"]) == npx, (len(rows["procedures"]), npx)
pids = {p["Id"] for p in rows["patients"]}
eids = {e["Id"] for e in rows["encounters"]}
assert len(pids) == 200 and len(eids) == 200
for e in rows["encounters"]:
    assert e["PATIENT"] in pids and e["ENCOUNTERCLASS"] == "inpatient" and e["CODE"] == "32485007"
    assert e["START"] <= e["STOP"], e
for c in rows["conditions"]:
    assert c["PATIENT"] in pids and c["ENCOUNTER"] in eids and c["CODE"], c
for p in rows["procedures"]:
    assert p["PATIENT"] in pids and p["ENCOUNTER"] in eids and len(p["CODE"]) == 5, p
for p in rows["patients"]:
    assert p["GENDER"] in ("M", "F") and p["RACE"] in ("white", "black", "asian", "native", "hawaiian", "other")
    assert p["ETHNICITY"] in ("hispanic", "nonhispanic") and p["MARITAL"] in ("", "M", "S", "D", "W")
# the main diagnosis is the first condition of each encounter and the encounter's REASONCODE
first = {}
for c in rows["conditions"]:
    first.setdefault(c["ENCOUNTER"], c["CODE"])
assert all(first[e["Id"]] == e["REASONCODE"] for e in rows["encounters"])
PY
ok "synthea-csv: Synthea's headers, one patient and encounter per record, all conditions and procedures"

# compare on the Synthea sample (CSV), our flat CSV and the MIMIC-III demo
expect_exit 0 "$BIN" compare --synthea "$SAMPLE" --ours "$TMP/flat" --real "$DATA/mimic3-demo" --report "$TMP/rep"
for f in report.md report.json compare.dat compare.gp compare.png; do
    [ -s "$TMP/rep/$f" ] || fail "$f missing or empty"
done
[ "$(head -c 8 "$TMP/rep/compare.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "compare.png is not a PNG"
for d in Pneumonia Sepsis "Coronary artery disease"; do
    grep -q "^## $d\$" "$TMP/rep/report.md" || fail "report.md lacks $d"
done
python3 - "$TMP/rep/report.json" <<'PY' || fail "report.json"
import json, sys
r = json.load(open(sys.argv[1]))
assert set(r["sources"]) == {"synthea", "llmsyn-fhir", "real"}, r["sources"]
assert r["sources"]["synthea"]["format"] == "synthea-csv"
assert [d["key"] for d in r["diseases"]] == ["pneumonia", "sepsis", "coronary_artery_disease"]
assert len(r["categories"]) == 9
for d in r["diseases"]:
    for s, cell in d["sources"].items():
        assert sum(cell["counts"].values()) == cell["procedures"], (d["key"], s)
        total = sum(cell["shares"].values())
        if cell["procedures"]:
            assert abs(total - 1) < 1e-9, (d["key"], s, total)
        else:
            assert total == 0
# the Synthea sample has 18 pneumonia encounters (conditions.csv, code 233604007), each with a chest X-ray
pn = r["diseases"][0]["sources"]["synthea"]
assert pn["episodes"] == 18 and pn["counts"]["diagnostic_imaging"] == 18, pn
# the demo has pneumonia, sepsis and CAD admissions with CPT events
assert all(d["sources"]["real"]["procedures"] > 0 for d in r["diseases"])
assert sum(d["sources"]["llmsyn-fhir"]["episodes"] for d in r["diseases"]) > 0
PY
ok "compare: report files, three diseases, shares sum to 1, PNG"

# our synthea-csv output read back by the Synthea reader gives the same cells as the flat CSV of the same run,
# and Synthea's FHIR bundles are read too
expect_exit 0 "$BIN" compare --synthea "$SAMPLE/fhir" --ours "$TMP/syn" --report "$TMP/rep2" --no-plot
[ -f "$TMP/rep2/compare.png" ] && fail "--no-plot drew a plot"
python3 - "$TMP/rep/report.json" "$TMP/rep2/report.json" <<'PY' || fail "synthea-csv read back"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert b["sources"]["llmsyn-fhir"]["format"] == "llmsyn-fhir synthea-csv"
assert b["sources"]["synthea"]["format"] == "synthea-fhir" and b["sources"]["synthea"]["episodes"] == 4
assert "real" not in b["sources"]
for da, db in zip(a["diseases"], b["diseases"]):
    assert da["sources"]["llmsyn-fhir"] == db["sources"]["llmsyn-fhir"], da["key"]
PY
ok "compare: synthea-csv output read back; Synthea FHIR bundles read"

expect_exit 2 "$BIN" compare --synthea "$SAMPLE" --report "$TMP/rep3"
expect_stderr "compare needs --synthea, --ours and --report"
expect_exit 3 "$BIN" compare --synthea "$TMP/nonexistent" --ours "$TMP/flat" --report "$TMP/rep3"
ok "compare: usage and input errors"
echo "$checks checks passed"
