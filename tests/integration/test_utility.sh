# test_utility.sh - tools/utility.py: FS / REAL / DA random forests on 300 generated records vs the MIMIC-III demo.
. "$(dirname "$0")/lib.sh"
DATA=${LLMSYN_SHARED_DATA:-$ROOT/../shared/data}
PY=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sklearn' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || fail "no python3 with scikit-learn (tools/install-deps.sh installs python3-sklearn)"
U="$ROOT/tools/utility.py"
ARGS=(--codes "$ROOT/mappings/codes" --seeds 3 --trees 40)

# (mode prior: the utility script reads the flat table; retrieval is not under test here)
expect_exit 0 "$BIN" --out "$TMP/syn" -n 300 --mode prior --format csv -q
expect_exit 0 "$PY" "$U" --synthetic "$TMP/syn" --real "$DATA/mimic3-demo" "${ARGS[@]}" --json "$TMP/u1.json" \
    --md "$TMP/u1.md"
expect_exit 0 "$PY" "$U" --synthetic "$TMP/syn/records.csv" --real "$DATA/mimic3-demo" "${ARGS[@]}" --json "$TMP/u2.json"
cmp -s "$TMP/u1.json" "$TMP/u2.json" || fail "two runs with the same seed differ"
"$PY" - "$TMP/u1.json" <<'PY' || fail "utility report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["n_synthetic"] == 300 and r["n_real"] == 129, (r["n_synthetic"], r["n_real"])
assert r["ccs_source"].endswith("icd9_dx.tsv")
for k in ("synthetic", "real"):
    assert sum(r["classes"][k].values()) == r["n_" + k]
# the demo's main diagnoses hold AMI and respiratory-failure admissions (CCS 100, 131)
assert r["classes"]["real"]["acute_myocardial_infarction"] > 0 and r["classes"]["real"]["respiratory_failure"] > 0
for task in ("phenotype", "mortality"):
    for setup in ("FS", "REAL", "DA"):
        for m in ("acc", "auroc", "f1"):
            s = r["tasks"][task][setup][m]
            if m != "auroc":
                assert s["runs"] == 3, (task, setup, m, s)
            if s["mean"] is not None:
                assert 0 <= s["mean"] <= 1 and s["std"] >= 0, (task, setup, m, s)
PY
grep -q '^| DA |' "$TMP/u1.md" || fail "utility.md lacks the DA row"
ok "utility: FS/REAL/DA on 300 records vs the demo, deterministic with a seed"

# Hand-made tables: the main diagnosis alone decides both labels. Phenotype must not see it (main diagnosis
# removed from the features: every other feature is constant, so the forest can only guess), mortality may
# (accuracy 1 on every seed).
"$PY" - "$TMP" <<'PY'
import csv, sys
hdr = ["RECORD_ID", "GENDER", "AGE", "INSURANCE", "LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY",
       "HOSPITAL_EXPIRE_FLAG", "ICD9_CODE", "COMPLICATION_CODES", "CPT_CD"]
for name, n in (("s.csv", 60), ("r.csv", 40)):
    with open(f"{sys.argv[1]}/{name}", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(hdr)
        for i in range(n):
            ami = i % 2 == 0
            w.writerow([i, "M", 70, "Medicare", "ENGL", "", "", "WHITE", 1 if ami else 0,
                        "410.71" if ami else "401.9", "", "99232"])
PY
expect_exit 0 "$PY" "$U" --synthetic "$TMP/s.csv" --real "$TMP/r.csv" "${ARGS[@]}" --json "$TMP/h.json"
"$PY" - "$TMP/h.json" <<'PY' || fail "main diagnosis handling"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["classes"]["synthetic"]["acute_myocardial_infarction"] == 30
assert r["tasks"]["phenotype"]["FS"]["acc"]["mean"] < 0.9, r["tasks"]["phenotype"]["FS"]
assert r["tasks"]["mortality"]["FS"]["acc"]["mean"] == 1.0, r["tasks"]["mortality"]["FS"]
assert r["tasks"]["mortality"]["FS"]["auroc"]["mean"] == 1.0
PY
ok "utility: main diagnosis removed for phenotype, kept for mortality"

expect_exit 3 "$PY" "$U" --synthetic "$TMP/nonexistent.csv" --real "$TMP/r.csv" "${ARGS[@]}"
printf 'ICD9_CODE,HOSPITAL_EXPIRE_FLAG\n486,yes\n' >"$TMP/bad.csv"
expect_exit 3 "$PY" "$U" --synthetic "$TMP/bad.csv" --real "$TMP/r.csv" "${ARGS[@]}"
expect_stderr "bad.csv:2: HOSPITAL_EXPIRE_FLAG"
expect_exit 2 "$PY" "$U" --synthetic "$TMP/s.csv" --real "$TMP/r.csv" --seeds 0
ok "utility: input and usage errors"
echo "$checks checks passed"
