#!/usr/bin/env python3
"""import-prior.py - builds mappings/prior.json (the aggregate prior z_P) from the shared aggregate tables.

Usage: tools/import-prior.py [DATA_DIR] [--out FILE]

DATA_DIR is the shared data folder (default: ../shared/data relative to the repository root). Read from it:
  priors/mimic3_top100_mortality.tsv      diagnoses, weight = admissions, mortality = deaths / admissions
  priors/mimic3_demographics.json         overall mortality; gender, insurance, marital status, ethnicity, language
  priors/prior_llmsyn-repro_excerpt.json  age bins (AGE_BIN); the open "80+" bin becomes 80-89
  mimic3-demo/ADMISSIONS.csv              religion, aggregated here; categories under 11 admissions pooled into OTHER

Newborn main diagnoses get "age": {"min": 0, "max": 0} (see newborn_code): MIMIC-III admits its newborns
at age 0, so these codes must not be paired with an age drawn from the adult-heavy age bins. They also get
their own marital_status {"SINGLE": 1} (a newborn is never married; FHIR maps SINGLE to "S", Never Married)
and insurance = the global insurance weights without Medicare (Medicare does not cover newborns), and V50.2
(routine circumcision, done on newborn boys) gets gender {"M": 1}; see add_newborn_marginals.

Only aggregates leave: counts, proportions, per-code rates. The output is deterministic: object keys sorted,
diagnoses by admissions descending (ties by code). Python 3 standard library only. The format is
described in docs/prior-format.md.
"""

import argparse
import csv
import json
import os
import sys

# Small-cell suppression for the one aggregate computed here from admission rows.
MIN_CELL = 11
# Age bins as published ("0-17", ..., "80+"). MIMIC-III shifts the ages of patients over 89 to around 300
# years, so the true ages above 89 are hidden; the open top bin is closed at 89, the highest age MIMIC-III shows.
TOP_AGE = 89
ROUND_RELIGION = 4
ROUND_RATE = 6
# Age range given to newborn main diagnoses: MIMIC-III's newborns are admitted at birth, age 0.
NEWBORN_AGE = {"min": 0, "max": 0}


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dot_icd9(code):
    """Writes an ICD-9-CM diagnosis code with its dot: 4019 -> 401.9, V053 -> V05.3, E8788 -> E878.8."""
    code = code.strip().upper()
    if code.startswith("E"):
        head = 4
    else:
        head = 3
    digits = code[1:] if code[0] in "EV" else code
    if not digits.isdigit() or len(code) < head or len(code) > head + (1 if head == 4 else 2):
        raise ValueError("not an ICD-9-CM diagnosis code: %r" % code)
    if len(code) == head:
        return code
    return code[:head] + "." + code[head:]


def newborn_code(code):
    """True for a dotted ICD-9-CM code that, as a main diagnosis in MIMIC-III, belongs to a newborn:
    V05.3 (hepatitis B vaccination, given at birth in MIMIC-III's nursery), V29.x (observation of newborn),
    V30-V39 (liveborn infants by type of birth), V50.2 (circumcision, in this population done on newborn
    boys) and 760-779 (ICD-9-CM chapter 15, conditions originating in the perinatal period)."""
    if code == "V05.3" or code == "V50.2" or code.startswith("V29"):
        return True
    if code.startswith("V"):
        return code[1:3].isdigit() and 30 <= int(code[1:3]) <= 39
    return code[:3].isdigit() and 760 <= int(code[:3]) <= 779


# Per-diagnosis marginals of the newborn codes: never married, and no Medicare (it covers people aged 65 and
# over and some disabled adults, not newborns). NEWBORN_NO_INSURANCE is left out of the global weights.
NEWBORN_MARITAL = {"SINGLE": 1}
NEWBORN_NO_INSURANCE = "Medicare"
# Routine or ritual circumcision: in this population done on newborn boys before discharge.
MALE_ONLY_CODES = ("V50.2",)


def add_newborn_marginals(entries, insurance):
    """Gives every newborn main diagnosis (entry with newborn_code) its own marital_status and insurance
    marginals, and the male-only codes a gender marginal {"M": 1}. insurance is the global marginal."""
    newborn_insurance = {k: w for k, w in insurance.items() if k != NEWBORN_NO_INSURANCE}
    if not newborn_insurance or len(newborn_insurance) == len(insurance):
        raise ValueError("insurance marginal: expected a %s category and at least one other" % NEWBORN_NO_INSURANCE)
    for entry in entries:
        if newborn_code(entry["code"]):
            entry["marital_status"] = dict(NEWBORN_MARITAL)
            entry["insurance"] = dict(newborn_insurance)
        if entry["code"] in MALE_ONLY_CODES:
            entry["gender"] = {"M": 1}


# Codes of the MIMIC-III aggregate that were retired before ICD-9-CM v32 (MIMIC-III was coded with
# older releases). The tool only emits v32 codes, so each is replaced by the v32 code that took over
# its most common meaning, with the CMS v32 description.
RETIRED_SUCCESSORS = {
    "2765": ("27650", "Volume depletion, unspecified"),  # split in FY2006 into 276.50-276.52
    "5185": ("51851", "Acute respiratory failure following trauma and surgery"),  # split in FY2012
}


def read_diagnoses(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            admissions = int(row["admission_count"])
            deaths = int(row["deaths"])
            if admissions <= 0 or deaths < 0 or deaths > admissions:
                raise ValueError("%s: bad counts for %s" % (path, row["icd9_code"]))
            code = row["icd9_code"]
            successor = RETIRED_SUCCESSORS.get(code)
            if successor:
                code, row["description"] = successor
            entry = {
                "code": dot_icd9(code),
                "weight": admissions,
                "mortality": round(deaths / admissions, ROUND_RATE),
            }
            description = (row.get("description") or "").strip()
            if description:
                entry["description"] = description
            if newborn_code(entry["code"]):
                entry["age"] = dict(NEWBORN_AGE)
            rows.append((admissions, deaths, entry))
    rows.sort(key=lambda r: (-r[0], r[2]["code"]))
    codes = [r[2]["code"] for r in rows]
    if len(set(codes)) != len(codes):
        raise ValueError("%s: duplicate codes" % path)
    return rows


def positive_marginal(obj, where):
    out = {}
    for key, value in obj.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise ValueError("%s: %s has weight %r" % (where, key, value))
        out[str(key)] = value
    if not out:
        raise ValueError("%s: empty" % where)
    return out


def read_age_bins(path):
    with open(path, encoding="utf-8") as f:
        bins = json.load(f)["demographics"]["AGE_BIN"]
    out = []
    for label, weight in bins.items():
        if label.endswith("+"):
            lo, hi = int(label[:-1]), TOP_AGE
        else:
            lo_s, hi_s = label.split("-")
            lo, hi = int(lo_s), int(hi_s)
        if weight <= 0 or lo > hi:
            raise ValueError("%s: bad age bin %s" % (path, label))
        out.append({"min": lo, "max": hi, "weight": weight})
    out.sort(key=lambda b: b["min"])
    return out


def read_religion(path):
    """Religion per admission -> proportions; blank values are missing and left out; small cells pooled."""
    counts = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            value = (row.get("religion") or "").strip()
            if value:
                counts[value] = counts.get(value, 0) + 1
    pooled = {}
    for value, n in counts.items():
        key = value if n >= MIN_CELL else "OTHER"
        pooled[key] = pooled.get(key, 0) + n
    # A pooled OTHER that is itself a small cell is dropped rather than released.
    pooled = {k: n for k, n in pooled.items() if n >= MIN_CELL}
    total = sum(pooled.values())
    if total == 0:
        raise ValueError("%s: no religion category reaches %d admissions" % (path, MIN_CELL))
    return {k: round(n / total, ROUND_RELIGION) for k, n in pooled.items()}


def build(data):
    priors = os.path.join(data, "priors")
    diagnoses = read_diagnoses(os.path.join(priors, "mimic3_top100_mortality.tsv"))
    with open(os.path.join(priors, "mimic3_demographics.json"), encoding="utf-8") as f:
        demo = json.load(f)
    mortality = demo["mortality_rate"]
    if not 0 <= mortality <= 1:
        raise ValueError("mimic3_demographics.json: mortality_rate out of range")
    demographics = {
        "age": read_age_bins(os.path.join(priors, "prior_llmsyn-repro_excerpt.json")),
        "religion": read_religion(os.path.join(data, "mimic3-demo", "ADMISSIONS.csv")),
    }
    for key in ("gender", "insurance", "marital_status", "ethnicity", "language"):
        demographics[key] = positive_marginal(demo[key], "mimic3_demographics.json: " + key)
    add_newborn_marginals([entry for _, _, entry in diagnoses], demographics["insurance"])
    source = (
        "llmsyn-fhir tools/import-prior.py. Aggregates over MIMIC-III v1.4, no patient rows: top-100 ICD-9-CM "
        "diagnoses by admissions with deaths (mimic3_top100_mortality.tsv); overall in-hospital mortality and "
        "gender, insurance, marital status, ethnicity, language proportions (mimic3_demographics.json, from "
        "PyHealth test-resources/llmsyn/stats.json); age bins (goneyak/llmsyn-repro data/priors/prior.json "
        "@0315d95d, MIT; top bin 80+ closed at 89); religion proportions over the MIMIC-III Clinical Database "
        "Demo v1.4 ADMISSIONS (ODbL 1.0), categories under 11 admissions pooled into OTHER. Newborn main diagnoses "
        "(V05.3, V29, V30-V39, V50.2, 760-779): age 0, marital status SINGLE, and the insurance weights without "
        "Medicare, which does not cover newborns; V50.2 (circumcision of newborn boys): gender M."
    )
    prior = {
        "source": source,
        "mortality": mortality,
        "diagnoses": [entry for _, _, entry in diagnoses],
        "demographics": demographics,
    }
    admissions = sum(r[0] for r in diagnoses)
    deaths = sum(r[1] for r in diagnoses)
    return prior, deaths / admissions


def main(argv):
    parser = argparse.ArgumentParser(description="build mappings/prior.json from the shared aggregates")
    parser.add_argument("data", nargs="?", default=os.path.join(repo_root(), "..", "shared", "data"))
    parser.add_argument("--out", default=os.path.join(repo_root(), "mappings", "prior.json"))
    args = parser.parse_args(argv)
    try:
        prior, weighted = build(args.data)
    except (OSError, ValueError, KeyError) as e:
        print("import-prior: error: %s" % e, file=sys.stderr)
        return 3
    text = json.dumps(prior, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    os.replace(tmp, args.out)
    newborn = [d["code"] for d in prior["diagnoses"] if "age" in d]
    print("import-prior: wrote %s: %d diagnoses; overall mortality %.4f; admission-weighted mean of "
          "per-diagnosis mortality %.4f" % (args.out, len(prior["diagnoses"]), prior["mortality"], weighted),
          file=sys.stderr)
    print("import-prior: age 0 for %d newborn diagnoses: %s" % (len(newborn), " ".join(newborn)), file=sys.stderr)
    male = [d["code"] for d in prior["diagnoses"] if "gender" in d]
    print("import-prior: newborn diagnoses get marital_status SINGLE and insurance without %s; gender M for %s"
          % (NEWBORN_NO_INSURANCE, " ".join(male)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
