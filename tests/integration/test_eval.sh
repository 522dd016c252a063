#!/usr/bin/env bash
# test_eval.sh - `llmsyn-fhir eval` on 200 generated records in all three formats against the MIMIC-III demo,
# and `llmsyn-fhir prior extract` on the demo checked against counts computed independently in Python.
. "$(dirname "$0")/lib.sh"
DEMO="$ROOT/../shared/data/mimic3-demo"
[ -f "$DEMO/ADMISSIONS.csv" ] || fail "MIMIC-III demo not found at $DEMO"

# --- eval: three formats, every documented key, PNGs --------------------------------------------------
for fmt in bundles ndjson csv; do
    expect_exit 0 "$BIN" -n 200 --out "$TMP/out-$fmt" --format "$fmt"
    expect_exit 0 "$BIN" eval --real "$DEMO" --synthetic "$TMP/out-$fmt" --report "$TMP/rep-$fmt"
    [ -s "$TMP/rep-$fmt/report.md" ] || fail "$fmt: no report.md"
    for png in distributions.png top15_icd9.png mortality.png; do
        [ "$(head -c 8 "$TMP/rep-$fmt/$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
            fail "$fmt: $png is not a PNG file"
    done
    ok "eval of $fmt output wrote report.json, report.md and 3 PNGs"
done

python3 - "$TMP" <<'PY' || fail "report.json check failed"
import json, math, sys
tmp = sys.argv[1]
reps = {f: json.load(open(f"{tmp}/rep-{f}/report.json")) for f in ("bundles", "ndjson", "csv")}
feats = ["LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY", "INSURANCE", "EXPIRE_FLAG", "ICD9_CODE", "CPT_CD"]
r = reps["bundles"]
assert r["format"] == "llmsyn-fhir-eval/1"
assert r["inputs"]["real_rows"] == 129 and r["inputs"]["synthetic_rows"] == 200, r["inputs"]
for f in feats:
    o = r["fidelity"]["features"][f]
    for k in ("ks", "tvd"):
        assert 0 <= o[k] <= 1, (f, k, o[k])
    assert o["real_categories"] >= 1 and o["synthetic_categories"] >= 1
for p in ("main_dx-CPT_CD", "main_dx-ICD9_CODE", "ICD9_CODE-CPT_CD"):
    assert 0 <= r["fidelity"]["mmd2"][p] <= 2, p
top = r["fidelity"]["top15_icd9"]
assert len(top) == 15 and all(set(t) == {"code", "real", "synthetic"} for t in top)
assert abs(sum(t["real"] for t in top) + r["fidelity"]["top15_other"]["real"] - 1) < 1e-9
assert abs(sum(t["synthetic"] for t in top) + r["fidelity"]["top15_other"]["synthetic"] - 1) < 1e-9
assert abs(r["fidelity"]["mortality"]["real"] - 40 / 129) < 1e-12
assert 0 <= r["fidelity"]["mortality"]["synthetic"] <= 1
pv = r["privacy"]
assert pv["quasi_identifiers"] == ["ETHNICITY", "ICD9_CODE"]
assert [k["k"] for k in pv["k_anonymity"]] == [7, 15]
for k in pv["k_anonymity"]:
    assert set(k) == {"k", "groups", "violating_groups", "violating_records"}
    assert k["violating_groups"] <= k["groups"] and k["violating_records"] <= 200
assert pv["k_anonymity"][0]["violating_records"] <= pv["k_anonymity"][1]["violating_records"]
assert set(pv["dcr"]) == {"mean", "median", "min"} and 0 <= pv["dcr"]["min"] <= pv["dcr"]["mean"] <= 1
assert 0 <= pv["exact_match_rate"] <= 1 and pv["exact_matches"] == round(pv["exact_match_rate"] * 200)
assert r["plots"] == ["distributions.png", "top15_icd9.png", "mortality.png"]
# the three formats of one run read back to the same table: same figures
for f in ("ndjson", "csv"):
    for key in ("fidelity", "privacy"):
        assert reps[f][key] == r[key], (f, key)
# k-anonymity recomputed from the flat CSV the run wrote
import csv, collections
rows = list(csv.DictReader(open(f"{tmp}/out-csv/records.csv")))
groups = collections.Counter((x["ETHNICITY"].strip(), x["ICD9_CODE"].replace(".", "").strip().upper()) for x in rows)
for k in pv["k_anonymity"]:
    small = [n for n in groups.values() if n < k["k"]]
    assert (k["groups"], k["violating_groups"], k["violating_records"]) == (len(groups), len(small), sum(small)), k
print("report.json: every key present, formats agree, k-anonymity matches")
PY
ok "report.json keys, ranges, agreement across formats, k-anonymity recomputed"

expect_exit 0 "$BIN" eval --real "$DEMO" --synthetic "$TMP/out-csv/records.csv" --report "$TMP/rep-q" \
    --quasi ETHNICITY,INSURANCE,GENDER --no-plots
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['privacy']['quasi_identifiers']==['ETHNICITY','INSURANCE','GENDER'] and r['plots']==[]" \
    "$TMP/rep-q/report.json" || fail "--quasi or --no-plots not honoured"
[ ! -e "$TMP/rep-q/distributions.png" ] || fail "--no-plots made plots"
ok "--quasi and --no-plots"

# --- eval --utility: tools/utility.py driven by the CLI, figures merged into the report ------------------
expect_exit 0 "$BIN" -n 300 --seed 1 --out "$TMP/u-nd" --format ndjson -q
expect_exit 0 "$BIN" -n 300 --seed 1 --out "$TMP/u-csv" --format csv -q
expect_exit 0 "$BIN" eval --real "$DEMO" --synthetic "$TMP/u-nd" --report "$TMP/rep-u" --utility --no-plots
for f in records.csv utility.json utility.md; do [ -s "$TMP/rep-u/$f" ] || fail "--utility: no $f"; done
python3 - "$TMP" <<'PY' || fail "--utility: report check failed"
import csv, json, sys
tmp = sys.argv[1]
r = json.load(open(f"{tmp}/rep-u/report.json"))
u = r["utility"]
assert u == json.load(open(f"{tmp}/rep-u/utility.json")), "report.json utility differs from utility.json"
assert u["n_synthetic"] == 300 and u["n_real"] == 129 and u["seeds"] == 5 and u["seed"] == 1, u
for task in ("phenotype", "mortality"):
    for setup in ("FS", "REAL", "DA"):
        assert set(u["tasks"][task][setup]) == {"acc", "auroc", "f1"}, (task, setup)
        assert u["tasks"][task][setup]["acc"]["runs"] == 5
assert r["inputs"]["synthetic_rows"] == 300 and "fidelity" in r and "privacy" in r
md = open(f"{tmp}/rep-u/report.md").read()
assert "\n## Utility" in md and "\n### mortality" in md and "| DA |" in md, "report.md lacks the utility section"
# the records.csv written from the NDJSON table holds what the run's own records.csv holds
norm = lambda s: ";".join(c.replace(".", "").strip().upper() for c in s.split(";") if c.strip())
def rows(p):
    fold = lambda c, v: "" if c == "LANGUAGE" and v == "UNKNOWN" else v  # the table's fold (eval/table.h)
    return [tuple([fold(c, x[c]) for c in ("GENDER", "INSURANCE", "LANGUAGE", "MARITAL_STATUS", "ETHNICITY",
                                  "HOSPITAL_EXPIRE_FLAG")] + [norm(x[c]) for c in ("ICD9_CODE",
                                  "COMPLICATION_CODES", "CPT_CD")]) for x in csv.DictReader(open(p))]
a, b = rows(f"{tmp}/rep-u/records.csv"), rows(f"{tmp}/u-csv/records.csv")
assert len(a) == 300 and a == b, [x for x in zip(a, b) if x[0] != x[1]][:2]
print("utility merged; records.csv from NDJSON matches the run's CSV")
PY
ok "eval --utility: utility.json merged into report.json and report.md, records.csv written from NDJSON"
mkdir -p "$TMP/nodata"
expect_exit 3 "$BIN" eval --real "$DEMO" --synthetic "$TMP/u-csv" --report "$TMP/rep-u2" --utility --no-plots \
    --data-dir "$TMP/nodata"
expect_stderr "no tools/utility.py in data folder"
ok "eval --utility without tools/utility.py exits 3"

# --- usage and input errors ----------------------------------------------------------------------------
expect_exit 2 "$BIN" eval --real "$DEMO" --synthetic "$TMP/out-csv" --report "$TMP/r2" --quasi ETHNICITY,BOGUS
expect_stderr "unknown column 'BOGUS'"
expect_exit 2 "$BIN" eval --synthetic "$TMP/out-csv" --report "$TMP/r2"
expect_exit 3 "$BIN" eval --real "$TMP/nowhere" --synthetic "$TMP/out-csv" --report "$TMP/r2"
expect_stderr "ADMISSIONS.csv"
mkdir -p "$TMP/bad"
printf 'hadm_id,subject_id\n1,2\n3,"4\n' >"$TMP/bad/ADMISSIONS.csv"
expect_exit 3 "$BIN" eval --real "$TMP/bad" --synthetic "$TMP/out-csv" --report "$TMP/r2"
expect_stderr "ADMISSIONS.csv:3: unterminated quoted field"
printf 'HADM_ID,SUBJECT_ID\n1,2\n3,4,5\n' >"$TMP/bad/ADMISSIONS.csv"
expect_exit 3 "$BIN" prior extract --mimic "$TMP/bad" --out "$TMP/p.json"
expect_stderr "ADMISSIONS.csv:3: 3 fields, the header has 2"
printf 'hadm_id,subject_id\n1,\xff\n' >"$TMP/bad/ADMISSIONS.csv"
expect_exit 3 "$BIN" prior extract --mimic "$TMP/bad" --out "$TMP/p.json"
expect_stderr "ADMISSIONS.csv:2: field 2 is not valid UTF-8"
{ printf 'hadm_id,subject_id\n1,2\n'; head -c 2000000 /dev/zero | tr '\0' x; printf ',1\n'; } >"$TMP/bad/ADMISSIONS.csv"
expect_exit 3 "$BIN" prior extract --mimic "$TMP/bad" --out "$TMP/p.json"
expect_stderr "ADMISSIONS.csv:3: record too long"
[ ! -e "$TMP/p.json" ] || fail "a failed extraction wrote its output"
expect_exit 2 "$BIN" prior extract --mimic "$DEMO" --out "$TMP/p.json" --min-cell 0
ok "usage errors exit 2, hostile CSVs exit 3 naming file:line"

# --- prior extract: counts checked independently, suppression, no patient-level value ------------------
expect_exit 0 "$BIN" prior extract --mimic "$DEMO" --out "$TMP/prior.json"
expect_stderr "cells below 11 suppressed"
cat >"$TMP/check_prior.py" <<'PY'
import csv, collections, json, re, sys
demo, path, m = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rows(name):
    with open(f"{demo}/{name}.csv", newline="") as f:
        return [{k.upper(): v for k, v in r.items()} for r in csv.DictReader(f)]
adm, pat, dx = rows("ADMISSIONS"), rows("PATIENTS"), rows("DIAGNOSES_ICD")
hadms = {r["HADM_ID"] for r in adm}
codes = collections.defaultdict(list)
for r in dx:
    if r["HADM_ID"] in hadms and r["ICD9_CODE"].strip():
        codes[r["HADM_ID"]].append((int(r["SEQ_NUM"]) if r["SEQ_NUM"] else 10**9, r["ICD9_CODE"].strip()))
main = {h: sorted(v)[0][1] for h, v in codes.items()}
died = {r["HADM_ID"]: r["HOSPITAL_EXPIRE_FLAG"] == "1" for r in adm}
out = json.load(open(path))
suppressed = 0
shape = re.compile(r"^(\d{3}\d{0,2}|V\d{2}\d{0,2}|E\d{3}\d?)$")
want_dx = {}
for code, n in collections.Counter(main.values()).items():
    if n < m or not shape.match(code):
        suppressed += 1
        continue
    d = sum(died[h] for h, c in main.items() if c == code)
    want_dx[code] = (n, d / n if d >= m and n - d >= m else None)
    suppressed += want_dx[code][1] is None
got_dx = {d["code"]: (d["weight"], d.get("mortality")) for d in out["diagnoses"]}
assert got_dx == want_dx, (got_dx, want_dx)
fold = {"LANGUAGE": {"UNKNOWN"}, "RELIGION": {"NOT SPECIFIED", "UNOBTAINABLE", "UNKNOWN"}}
def marginal(values):
    global suppressed
    c = collections.Counter(v for v in values if v)
    res, other = {}, c.pop("OTHER", 0)
    for v, n in c.items():
        if n < m:
            suppressed += 1
            other += n
        else:
            res[v] = n
    if other >= m:
        res["OTHER"] = other
    elif other:
        suppressed += 1
    return res
subj = {r["SUBJECT_ID"]: r for r in pat}
assert out["demographics"]["gender"] == marginal([subj[r["SUBJECT_ID"]]["GENDER"] for r in adm])
for col in ("LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY", "INSURANCE"):
    vals = ["" if r[col].strip().upper() in fold.get(col, ()) else r[col].strip() for r in adm]
    assert out["demographics"][col.lower()] == marginal(vals), col
def age(r):
    dob, adt = subj[r["SUBJECT_ID"]]["DOB"][:10], r["ADMITTIME"][:10]
    y = int(adt[:4]) - int(dob[:4]) - (adt[5:] < dob[5:])
    return min(y, 89)
ages = [age(r) for r in adm]
bins = []
for lo, hi in ((0, 17), (18, 34), (35, 49), (50, 64), (65, 79), (80, 89)):
    n = sum(lo <= a <= hi for a in ages)
    if n >= m:
        bins.append({"min": lo, "max": hi, "weight": n})
    elif n:
        suppressed += 1
assert out["demographics"]["age"] == bins, (out["demographics"]["age"], bins)
assert out["_suppressed_cells"] == suppressed and suppressed > 0, (out["_suppressed_cells"], suppressed)
assert abs(out["mortality"] - sum(died.values()) / len(adm)) < 1e-12
# aggregates only: every count reaches m, and no identifier, date or free text of a row appears
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
    else:
        yield o
leaves = list(walk(out))
for d in out["diagnoses"]:
    assert d["weight"] >= m
for name, mg in out["demographics"].items():
    if name != "age":
        assert all(n >= m for n in mg.values()), name
ids = {r[c] for r in adm for c in ("ROW_ID", "SUBJECT_ID", "HADM_ID", "ADMITTIME", "DISCHTIME", "DIAGNOSIS") if r[c]}
ids |= {r[c] for r in pat for c in ("DOB", "DOD") if r[c]}
assert not [v for v in leaves if str(v) in ids], "a patient-level value leaked"
print("prior matches:", len(got_dx), "diagnoses,", suppressed, "suppressed cells")
PY
python3 "$TMP/check_prior.py" "$DEMO" "$TMP/prior.json" 11 || fail "extracted prior does not match the independent count"
expect_exit 0 "$BIN" prior extract --mimic "$DEMO" --out "$TMP/prior3.json" --min-cell 3
python3 "$TMP/check_prior.py" "$DEMO" "$TMP/prior3.json" 3 || fail "--min-cell 3: prior does not match the independent count"
python3 -c "import json,sys; p=json.load(open(sys.argv[1])); assert len(p['diagnoses'])>1 and any('mortality' in d for d in p['diagnoses'])" \
    "$TMP/prior3.json" || fail "--min-cell 3 should keep several diagnoses, some with mortality"
ok "prior extract: diagnoses, marginals, age bins, mortality and suppressed count match an independent count"
expect_exit 0 "$BIN" --prior "$TMP/prior.json" -n 5 --out "$TMP/from-prior" --format csv
python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); assert len(r)==5 and all(x['ICD9_CODE'] in ('038.9','0389') for x in r), r" \
    "$TMP/from-prior/records.csv" || fail "records generated from the extracted prior do not use its diagnosis"
ok "the extracted prior loads and drives generation"
expect_exit 3 "$BIN" prior extract --mimic "$DEMO" --out "$TMP/p2.json" --min-cell 500
expect_stderr "below --min-cell 500"
ok "a threshold no cell reaches fails"
echo "$checks checks passed"
