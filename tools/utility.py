#!/usr/bin/env python3
# utility.py - the LLMSYN paper's utility tasks (section 5.2.1): random forests trained on synthetic (FS),
# real (REAL) and synthetic + real (DA) records, tested on held-out real records; phenotype and mortality.
"""Usage:
  utility.py --synthetic PATH --real PATH [--codes DIR] [--seeds N] [--seed S] [--trees N]
             [--test-share F] [--json FILE] [--md FILE]

--synthetic  llmsyn-fhir flat CSV (records.csv, docs/output-formats.md) or a folder holding it
--real       a MIMIC-III-format folder (ADMISSIONS, DIAGNOSES_ICD, CPTEVENTS; headers in any case)
             or a CSV in the records.csv format
--codes      mappings/codes (icd9_dx.tsv gives each ICD-9-CM code its CCS category); when it is missing,
             the phenotype code lists of hcup_ccs_2015_definitions.yaml (--ccs-yaml) are used
See docs/utility.md. Needs Debian's python3-sklearn. Exit status 0, 2 on usage errors, 3 on bad input.
"""
import argparse
import csv
import json
import math
import os
import random
import sys

PHENOTYPES = {100: "acute_myocardial_infarction", 131: "respiratory_failure", 153: "gastrointestinal_hemorrhage"}
PHENO_CLASSES = ["acute_myocardial_infarction", "respiratory_failure", "gastrointestinal_hemorrhage", "other"]
CATEGORICAL = ["INSURANCE", "LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY"]
MAX_ROWS = 10_000_000


class InputError(Exception):
    pass


def norm_code(code):
    """ICD-9-CM / CPT code without dot or blanks, upper case (as the C side's eval_code_normalise)."""
    return "".join(ch for ch in code.strip().upper() if ch not in ". \t")


def open_csv(path):
    try:
        fh = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot open '{path}': {e.strerror}")
    reader = csv.reader(fh)
    try:
        header = [h.strip().upper() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: empty file")
    return fh, reader, header


def read_rows(path):
    """Yields (line, dict) of a CSV with upper-cased header names; rows of the wrong width are an error."""
    fh, reader, header = open_csv(path)
    with fh:
        for n, row in enumerate(reader, start=2):
            if n > MAX_ROWS:
                raise InputError(f"{path}: more than {MAX_ROWS} rows")
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"{path}:{n}: {len(row)} fields, header has {len(header)}")
            yield n, dict(zip(header, row))


def split_codes(s):
    return [norm_code(c) for c in s.split(";") if norm_code(c)]


def read_flat(path):
    """Records in our flat CSV format: one admission per row."""
    if os.path.isdir(path):
        path = os.path.join(path, "records.csv")
    out = []
    for n, r in read_rows(path):
        for col in ("ICD9_CODE", "HOSPITAL_EXPIRE_FLAG"):
            if col not in r:
                raise InputError(f"{path}: no {col} column")
        flag = r["HOSPITAL_EXPIRE_FLAG"].strip()
        if flag not in ("0", "1"):
            raise InputError(f"{path}:{n}: HOSPITAL_EXPIRE_FLAG '{flag[:20]}' is not 0 or 1")
        icd = split_codes(r["ICD9_CODE"]) + split_codes(r.get("COMPLICATION_CODES", ""))
        out.append({"cat": {c: r.get(c, "").strip().upper() for c in CATEGORICAL},
                    "icd9": icd, "cpt": split_codes(r.get("CPT_CD", "")), "expire": int(flag)})
    return out


def find_file(d, name):
    for cand in (name, name.lower()):
        p = os.path.join(d, cand)
        if os.path.isfile(p):
            return p
    return None


def read_mimic(d):
    """MIMIC-III-format folder: one admission per ADMISSIONS row, diagnoses by SEQ_NUM (main first)."""
    adm_path = find_file(d, "ADMISSIONS.csv")
    if not adm_path:
        raise InputError(f"no ADMISSIONS.csv in '{d}'")
    adms, order = {}, []
    for n, r in read_rows(adm_path):
        hadm = r.get("HADM_ID", "").strip()
        flag = r.get("HOSPITAL_EXPIRE_FLAG", "").strip()
        if not hadm or flag not in ("0", "1"):
            raise InputError(f"{adm_path}:{n}: no HADM_ID or HOSPITAL_EXPIRE_FLAG 0/1")
        adms[hadm] = {"cat": {c: r.get(c, "").strip().upper() for c in CATEGORICAL}, "dx": [], "cpt": [],
                      "expire": int(flag)}
        order.append(hadm)
    dx_path = find_file(d, "DIAGNOSES_ICD.csv")
    for n, r in (read_rows(dx_path) if dx_path else []):
        a = adms.get(r.get("HADM_ID", "").strip())
        code = norm_code(r.get("ICD9_CODE", ""))
        if a is not None and code:
            try:
                seq = int(r.get("SEQ_NUM", "") or 10**6)
            except ValueError:
                raise InputError(f"{dx_path}:{n}: SEQ_NUM is not a number")
            a["dx"].append((seq, n, code))
    cpt_path = find_file(d, "CPTEVENTS.csv")
    for n, r in (read_rows(cpt_path) if cpt_path else []):
        a = adms.get(r.get("HADM_ID", "").strip())
        code = norm_code(r.get("CPT_CD", ""))
        if a is not None and code:
            a["cpt"].append(code)
    out = []
    for h in order:
        a = adms[h]
        out.append({"cat": a["cat"], "icd9": [c for _, _, c in sorted(a["dx"])], "cpt": a["cpt"],
                    "expire": a["expire"]})
    return out


def load_ccs(codes_dir, yaml_path):
    """Maps an undotted ICD-9-CM code to its phenotype class name (only the three phenotypes)."""
    table = {}
    tsv = os.path.join(codes_dir, "icd9_dx.tsv") if codes_dir else None
    if tsv and os.path.isfile(tsv):
        with open(tsv, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#"):
                    continue
                f = line.rstrip("\n").split("\t")
                if len(f) >= 3 and f[2].strip().isdigit() and int(f[2]) in PHENOTYPES:
                    table[norm_code(f[0])] = PHENOTYPES[int(f[2])]
        return table, tsv
    if not yaml_path or not os.path.isfile(yaml_path):
        raise InputError("no CCS table: give --codes (mappings/codes) or --ccs-yaml")
    current = None
    with open(yaml_path, encoding="utf-8") as fh:
        for line in fh:
            s = line.strip()
            if s.startswith("id:"):
                try:
                    current = int(s[3:].strip())
                except ValueError:
                    current = None
            elif s.startswith("codes:") and current in PHENOTYPES:
                for c in s[6:].strip(" []").split(","):
                    if c.strip().strip('"'):
                        table[norm_code(c.strip().strip('"'))] = PHENOTYPES[current]
    return table, yaml_path


def phenotype(rec, ccs):
    return ccs.get(rec["icd9"][0], "other") if rec["icd9"] else "other"


def features(rec, task):
    """Feature names of a record; the phenotype task drops the main diagnosis (the paper's setup)."""
    icd = rec["icd9"][1:] if task == "phenotype" else rec["icd9"]
    f = {f"{c}={rec['cat'][c]}" for c in CATEGORICAL if rec["cat"][c]}
    f.update("ICD9=" + c for c in icd)
    f.update("CPT=" + c for c in rec["cpt"])
    return f


def matrix(recs, task, vocab):
    import numpy as np
    x = np.zeros((len(recs), len(vocab)), dtype=np.float32)
    for i, r in enumerate(recs):
        for name in features(r, task):
            j = vocab.get(name)
            if j is not None:
                x[i, j] = 1.0
    return x


def full_proba(model, x, classes):
    """Class probabilities in the order of `classes`, zero for classes the forest never saw."""
    import numpy as np
    p = np.zeros((x.shape[0], len(classes)))
    got = model.predict_proba(x)
    for k, c in enumerate(model.classes_):
        p[:, classes.index(c)] = got[:, k]
    return p


def scores(model, x, y, classes, binary):
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    import numpy as np
    p = full_proba(model, x, classes)
    pred = [classes[i] for i in p.argmax(axis=1)]
    out = {"acc": float(accuracy_score(y, pred)), "auroc": None,
           "f1": float(f1_score(y, pred, average="binary" if binary else "macro", pos_label=1 if binary else None,
                                labels=None if binary else sorted(set(y)), zero_division=0))}
    present = sorted(set(y), key=classes.index)
    if len(present) >= 2:
        if binary:
            out["auroc"] = float(roc_auc_score(y, p[:, classes.index(1)]))
        else:  # macro one-vs-rest over the classes present in the test set
            aucs = [roc_auc_score([1 if v == c else 0 for v in y], p[:, classes.index(c)]) for c in present]
            out["auroc"] = float(np.mean(aucs))
    return out


def one_run(task, syn, real, ccs, seed, trees, test_share):
    from sklearn.ensemble import RandomForestClassifier
    rng = random.Random(seed)
    idx = list(range(len(real)))
    rng.shuffle(idx)
    n_test = max(1, int(round(len(real) * test_share)))
    test = [real[i] for i in idx[:n_test]]
    pool = [real[i] for i in idx[n_test:]]
    real_train = rng.sample(pool, min(len(syn), len(pool)))  # REAL: as many real records as FS has (capped)
    label = (lambda r: phenotype(r, ccs)) if task == "phenotype" else (lambda r: r["expire"])
    classes = PHENO_CLASSES if task == "phenotype" else [0, 1]
    y_test = [label(r) for r in test]
    res = {}
    for setup, train in (("FS", syn), ("REAL", real_train), ("DA", syn + real_train)):
        vocab = {}
        for r in train:
            for name in sorted(features(r, task)):
                vocab.setdefault(name, len(vocab))
        y = [label(r) for r in train]
        if not vocab or not train:
            res[setup] = None
            continue
        model = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1)
        model.fit(matrix(train, task, vocab), y)
        res[setup] = scores(model, matrix(test, task, vocab), y_test, classes, task == "mortality")
    return res, len(test), len(real_train)


def summarise(runs):
    out = {}
    for setup in ("FS", "REAL", "DA"):
        vals = [r[setup] for r in runs if r[setup] is not None]
        out[setup] = {}
        for m in ("acc", "auroc", "f1"):
            v = [x[m] for x in vals if x[m] is not None and not math.isnan(x[m])]
            mean = sum(v) / len(v) if v else None
            sd = math.sqrt(sum((a - mean) ** 2 for a in v) / (len(v) - 1)) if len(v) > 1 else (0.0 if v else None)
            out[setup][m] = {"mean": mean, "std": sd, "runs": len(v)}
    return out


def markdown(rep):
    lines = ["# Utility: random forests trained on synthetic (FS), real (REAL) and both (DA)", "",
             f"Synthetic records: {rep['n_synthetic']}; real records: {rep['n_real']} "
             f"({rep['n_test']} held out for testing per seed, REAL trains on {rep['n_real_train']}); "
             f"{rep['seeds']} seeds from {rep['seed']}; {rep['trees']} trees. Mean ± standard deviation over "
             "the seeds; '-' where a metric is undefined (one class only in the test set). See docs/utility.md.", ""]
    for task in ("phenotype", "mortality"):
        lines += [f"## {task}", "", "| setup | ACC | AUROC | F1 |", "|---|---:|---:|---:|"]
        for setup in ("FS", "REAL", "DA"):
            cells = []
            for m in ("acc", "auroc", "f1"):
                s = rep["tasks"][task][setup][m]
                cells.append("-" if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}")
            lines.append(f"| {setup} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Phenotype classes (main diagnosis, CCS): synthetic " + json.dumps(rep["classes"]["synthetic"]) +
              ", real " + json.dumps(rep["classes"]["real"]), ""]
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(prog="utility.py", description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", required=True)
    ap.add_argument("--real", required=True)
    ap.add_argument("--codes", default=None)
    ap.add_argument("--ccs-yaml", default=None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--test-share", type=float, default=0.5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--md", default=None)
    a = ap.parse_args(argv)
    if not 1 <= a.seeds <= 1000 or not 1 <= a.trees <= 10000 or not 0.05 <= a.test_share <= 0.95:
        print("utility.py: error: --seeds 1..1000, --trees 1..10000, --test-share 0.05..0.95", file=sys.stderr)
        return 2
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("utility.py: error: scikit-learn is missing (Debian: apt-get install python3-sklearn; "
              "run with /usr/bin/python3)", file=sys.stderr)
        return 3
    try:
        syn = read_flat(a.synthetic)
        real = read_mimic(a.real) if os.path.isdir(a.real) else read_flat(a.real)
        ccs, ccs_source = load_ccs(a.codes, a.ccs_yaml)
    except InputError as e:
        print(f"utility.py: error: {e}", file=sys.stderr)
        return 3
    if len(syn) < 2 or len(real) < 4:
        print("utility.py: error: need at least 2 synthetic and 4 real records", file=sys.stderr)
        return 3
    rep = {"report": "llmsyn-fhir utility", "version": 1, "n_synthetic": len(syn), "n_real": len(real),
           "seeds": a.seeds, "seed": a.seed, "trees": a.trees, "test_share": a.test_share,
           "ccs_source": ccs_source, "tasks": {},
           "classes": {k: {c: sum(1 for r in v if phenotype(r, ccs) == c) for c in PHENO_CLASSES}
                       for k, v in (("synthetic", syn), ("real", real))}}
    for task in ("phenotype", "mortality"):
        runs = []
        for s in range(a.seed, a.seed + a.seeds):
            res, n_test, n_train = one_run(task, syn, real, ccs, s, a.trees, a.test_share)
            runs.append(res)
        rep["n_test"], rep["n_real_train"] = n_test, n_train
        rep["tasks"][task] = summarise(runs)
    text = json.dumps(rep, indent=2, sort_keys=True) + "\n"
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    if a.md:
        with open(a.md, "w", encoding="utf-8") as fh:
            fh.write(markdown(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
