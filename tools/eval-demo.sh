#!/usr/bin/env bash
# eval-demo.sh - regenerates the MIMIC-III demo figures of docs/evaluation.md: modes base, prior and full
# with the builtin backend, N records each (default 1000, seed 1), `llmsyn-fhir eval --utility` against
# the demo, and a summary table (OUT/summary.md) of K-S, MMD, k-anonymity, mortality and utility.
# Usage: tools/eval-demo.sh [OUT] (default build/eval-demo); env N, SEED, DEMO, LLMSYN_BIN override.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/eval-demo}
N=${N:-1000}
SEED=${SEED:-1}
DEMO=${DEMO:-$ROOT/../shared/data/mimic3-demo}
BIN=${LLMSYN_BIN:-$ROOT/build/llmsyn-fhir}
[ -x "$BIN" ] || { echo "eval-demo.sh: error: no '$BIN' (run make first)" >&2; exit 2; }
[ -f "$DEMO/ADMISSIONS.csv" ] || { echo "eval-demo.sh: error: no MIMIC-III demo at '$DEMO'" >&2; exit 2; }
mkdir -p "$OUT"
for mode in base prior full; do
    rm -rf "$OUT/$mode" "$OUT/report-$mode"
    "$BIN" --llm builtin --mode "$mode" -n "$N" --seed "$SEED" --format csv --out "$OUT/$mode" -q
    "$BIN" eval --real "$DEMO" --synthetic "$OUT/$mode" --report "$OUT/report-$mode" --utility
done
python3 - "$OUT" "$N" "$SEED" "$DEMO" >"$OUT/summary.md" <<'PY'
import collections, csv, json, math, sys
out, n, seed, demo = sys.argv[1:5]
modes = ("base", "prior", "full")
reps = {m: json.load(open(f"{out}/report-{m}/report.json")) for m in modes}
def f(x, d=3):
    return "-" if x is None else f"{x:.{d}f}"
def row(label, get):
    return f"| {label} | " + " | ".join(get(reps[m]) for m in modes) + " |"
head = ["| | base | prior | full |", "|---|---:|---:|---:|"]
print(f"Builtin backend, {n} records per mode, seed {seed}, against the MIMIC-III demo (129 admissions).\n")
for task in ("phenotype", "mortality"):
    print(f"Utility, {task} (mean ± sd over 5 seeds)\n")
    print("\n".join(head))
    for setup in ("FS", "REAL", "DA"):
        for m in ("acc", "auroc", "f1"):
            print(row(f"{setup} {m.upper()}", lambda r: (lambda s: "-" if s["mean"] is None else
                      f"{s['mean']:.3f} ± {s['std']:.3f}")(r["utility"]["tasks"][task][setup][m])))
    print()
print("Fidelity: K-S statistic (and TVD)\n")
print("\n".join(head))
for feat in reps["base"]["fidelity"]["features"]:
    print(row(feat, lambda r: f(r["fidelity"]["features"][feat]["ks"]) + " (" +
              f(r["fidelity"]["features"][feat]["tvd"]) + ")"))
print("\nFidelity: squared MMD (and its square root, MMD)\n")
print("\n".join(head))
for pair in reps["base"]["fidelity"]["mmd2"]:
    print(row(pair, lambda r: f(r["fidelity"]["mmd2"][pair], 4) + " (" + f(math.sqrt(r["fidelity"]["mmd2"][pair]))
              + ")"))
print("\nPrivacy: k-anonymity violations (ETHNICITY, ICD9_CODE), DCR, mortality\n")
print("\n".join(head))
for i, k in enumerate((7, 15)):
    print(row(f"k = {k}: violating groups / records", lambda r: "{violating_groups} / {violating_records}"
              .format(**r["privacy"]["k_anonymity"][i])))
print(row("groups", lambda r: str(r["privacy"]["k_anonymity"][0]["groups"])))
# the same count over the demo itself (ETHNICITY, main diagnosis = SEQ_NUM 1): aggregates only
def up(name):
    with open(f"{demo}/{name}.csv", newline="") as fh:
        return [{k.upper(): v for k, v in r.items()} for r in csv.DictReader(fh)]
main = {}
for r in up("DIAGNOSES_ICD"):
    if r["SEQ_NUM"].strip() == "1":
        main[r["HADM_ID"]] = r["ICD9_CODE"].replace(".", "").strip().upper()
groups = collections.Counter((a["ETHNICITY"].strip(), main.get(a["HADM_ID"], "")) for a in up("ADMISSIONS"))
demo_k = ["%d / %d" % (sum(1 for v in groups.values() if v < k), sum(v for v in groups.values() if v < k))
          for k in (7, 15)]

print(row("DCR mean", lambda r: f(r["privacy"]["dcr"]["mean"])))
print(row("exact-match rate", lambda r: f(r["privacy"]["exact_match_rate"])))
print(row("in-hospital mortality", lambda r: f(r["fidelity"]["mortality"]["synthetic"])))
print(row("share of all ICD-9 codes that are the demo's top 15", lambda r: f(1 - r["fidelity"]["top15_other"]["synthetic"])))
print(f"\nThe demo itself: in-hospital mortality {reps['base']['fidelity']['mortality']['real']:.3f}; top 15 "
      f"{1 - reps['base']['fidelity']['top15_other']['real']:.3f} of its codes; "
      f"{len(groups)} (ETHNICITY, main diagnosis) groups, k = 7: {demo_k[0]}, k = 15: {demo_k[1]} "
      "violating groups / admissions.")
PY
echo "eval-demo.sh: wrote $OUT/summary.md and $OUT/report-{base,prior,full}/" >&2
