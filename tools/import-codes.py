#!/usr/bin/env python3
"""import-codes.py - builds the code dictionaries in mappings/codes/ from the public sources in the shared data.

Usage: tools/import-codes.py [DATA_DIR] [--out DIR]

DATA_DIR is the shared data folder (default: ../shared/data relative to the repository root); --out picks
another output folder (default: mappings/codes). Read from DATA_DIR:
  icd9cm/CMS32_DESC_LONG_DX.txt, CMS32_DESC_LONG_SG.txt   ICD-9-CM v32 codes and long titles (Latin-1)
  icd9cm/icd9cm_chapters_compiled.csv                     ICD-9-CM chapter ranges and titles
  ccs/$dxref 2015.csv, ccs/$prref 2015.csv                AHRQ CCS: every ICD-9-CM code since 1980 -> category;
                                                          a code listed there but absent from v32 is "retired"
  ccs/hcup_ccs_2015_definitions.yaml                      CCS diagnosis category names and the mimic3-benchmarks
                                                          phenotypes (use_in_benchmark: True)
  ccs/2016_ccs_services_procedures.csv                    CPT/HCPCS code ranges -> CCS services category
  hcpcs/HCPC2020_ANWEB_w_disclaimer.txt                   HCPCS Level II 2020 (CMS fixed-width record layout)
  mimic3-demo/D_CPT.csv                                   CPT section and subsection ranges with their headers

Written (UTF-8, LF, tab-separated, first line "#" + column names; docs/codes.md describes them):
  icd9_dx.tsv icd9_px.tsv hcpcs.tsv    code, status (B billable, H header, R retired), CCS id, display
  ccs.tsv                              scheme (dx, pr), CCS id, label, phenotype (1 = mimic3-benchmarks phenotype)
  ccs_services.tsv                     lo, hi, CCS id (scheme pr) of the CPT/HCPCS ranges
  cpt_sections.tsv                     level (section, subsection), lo, hi, status (B, R = deleted codes), label
  icd9_chapters.tsv                    lo, hi, title of the ICD-9-CM diagnosis chapters (3-character categories)

No AMA CPT descriptor is read or written: CPT appears only as range bounds, MIMIC's section headers and
AHRQ category labels. No patient-level row is read. Python 3 standard library only; deterministic output.
"""

import argparse
import bisect
import csv
import os
import re
import sys

STATUS_BILLABLE = "B"
STATUS_HEADER = "H"
STATUS_RETIRED = "R"

DX_RE = re.compile(r"^(?:[0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4})$")
PX_RE = re.compile(r"^[0-9]{3,4}$")
HCPCS_RE = re.compile(r"^[A-V][0-9]{4}$")
RANGE_CODE_RE = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[A-Z]|[A-Z][0-9]{4})$")


class SourceError(Exception):
    """A source file does not look the way this script expects; names file and line."""


def fail(path, line, what):
    raise SourceError("%s:%d: %s" % (os.path.basename(path), line, what))


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clean_text(s):
    """One line, single spaces, no tabs or control characters."""
    return " ".join(s.replace("\t", " ").split())


def dot_dx(code):
    """CMS form to dotted: 4019 -> 401.9, V5861 -> V58.61, E8788 -> E878.8, 042 -> 042."""
    head = 4 if code.startswith("E") else 3
    return code if len(code) == head else code[:head] + "." + code[head:]


def dot_px(code):
    """CMS form to dotted: 9671 -> 96.71, 458 -> 45.8, 36 -> 36."""
    return code if len(code) == 2 else code[:2] + "." + code[2:]


def dx_prefixes(code):
    """The category and subcategory codes above a CMS-form diagnosis code (dotted)."""
    head = 4 if code.startswith("E") else 3
    out = [code[:head]] if len(code) > head else []
    if len(code) == head + 2:
        out.append(dot_dx(code[:head + 1]))
    return out


def px_prefixes(code):
    out = [code[:2]] if len(code) > 2 else []
    if len(code) == 4:
        out.append(dot_px(code[:3]))
    return out


def read_cms_long(path, pattern):
    """CMS "CODE DESCRIPTION" lines (Latin-1) -> {code: description}."""
    codes = {}
    with open(path, encoding="latin-1", newline="") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            code, _, desc = line.partition(" ")
            if not pattern.match(code) or not desc.strip():
                fail(path, n, "not 'CODE DESCRIPTION': %r" % line[:40])
            if code in codes:
                fail(path, n, "duplicate code %s" % code)
            codes[code] = clean_text(desc)
    return codes


def split_quoted(line, path, n):
    """Splits an AHRQ CCS line: fields in single or double quotes, separated by commas."""
    fields, i = [], 0
    while i < len(line):
        q = line[i]
        if q not in "'\"":
            fail(path, n, "field %d is not quoted" % (len(fields) + 1))
        end = line.find(q + ",", i + 1)
        if end < 0:
            end = len(line) - 1
        if end <= i or line[end] != q:
            fail(path, n, "unterminated field %d" % (len(fields) + 1))
        fields.append(line[i + 1:end])
        i = end + 2
    return fields


def read_ccs_ref(path, nfields):
    """$dxref / $prref -> {CMS code: (ccs id, ccs short label, code title)}; first two lines are notes."""
    out = {}
    with open(path, encoding="latin-1", newline="") as f:
        lines = f.read().split("\r\n")
    for n, line in enumerate(lines[2:], 3):
        if not line:
            continue
        f = split_quoted(line, path, n)
        if len(f) != nfields:
            fail(path, n, "expected %d fields, found %d" % (nfields, len(f)))
        code, ccs = f[0].strip(), f[1].strip()
        if not code:
            continue  # the "invalid codes in user data" row
        if not ccs.isdigit() or code in out:
            fail(path, n, "bad or duplicate row for %r" % code)
        out[code] = (int(ccs), f[2].strip(), clean_text(f[3]))
    return out


def yaml_scalar(text, path, n):
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', text)
    if m:
        return m.group(1).replace('\\"', '"').replace("\\\\", "\\")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        items = re.findall(r'\s*("(?:[^"\\]|\\.)*")\s*(?:,|$)', inner)
        if ",".join(i.strip() for i in items) != ",".join(p.strip() for p in inner.split(",")) and inner:
            fail(path, n, "flow list holds something other than quoted strings")
        return [yaml_scalar(i, path, n) for i in items]
    fail(path, n, "unsupported YAML value %r" % text[:40])
    return None


def read_yaml_subset(path):
    """The YAML subset of hcup_ccs_2015_definitions.yaml: top-level quoted keys, each a mapping of
    two-space-indented `key: value` lines whose values are booleans, integers, quoted strings or
    one-line flow lists of quoted strings. Anything else is an error naming the line."""
    out, current = {}, None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            top = re.fullmatch(r'"((?:[^"\\]|\\.)*)":\s*', line)
            sub = re.fullmatch(r"  ([A-Za-z_][A-Za-z0-9_]*):\s+(.*?)\s*", line)
            if top:
                key = top.group(1)
                if key in out:
                    fail(path, n, "duplicate key %r" % key)
                current = out[key] = {}
            elif sub and current is not None:
                if sub.group(1) in current:
                    fail(path, n, "duplicate member %r" % sub.group(1))
                current[sub.group(1)] = yaml_scalar(sub.group(2), path, n)
            else:
                fail(path, n, "not a line of the supported YAML subset")
    return out


def ccs_categories(yaml_path, dxref, prref, services):
    """Rows of ccs.tsv; checks that the phenotype file and $dxref agree code by code."""
    defs = read_yaml_subset(yaml_path)
    dx = {}
    for name, d in defs.items():
        if not isinstance(d.get("id"), int) or not isinstance(d.get("codes"), list) or \
                not isinstance(d.get("use_in_benchmark"), bool):
            raise SourceError("%s: entry %r lacks id, codes or use_in_benchmark" % (yaml_path, name))
        if d["id"] in dx:
            raise SourceError("%s: CCS id %d given twice" % (yaml_path, d["id"]))
        dx[d["id"]] = (name, d["use_in_benchmark"])
        for code in d["codes"]:
            if code not in dxref or dxref[code][0] != d["id"]:
                raise SourceError("%s: %s is in %r but $dxref says CCS %s" %
                                  (yaml_path, code, name, dxref.get(code, ("none",))[0]))
    missing = {v[0] for v in dxref.values()} - set(dx)
    if missing:
        raise SourceError("CCS diagnosis categories without a name: %s" % sorted(missing))
    pr = {}
    for _, ccs, label in services:
        pr[ccs] = label
    for ccs, short, _ in prref.values():
        pr.setdefault(ccs, short)
    rows = [("dx", i, name, "1" if bench else "0") for i, (name, bench) in sorted(dx.items())]
    rows += [("pr", i, pr[i], "0") for i in sorted(pr)]
    return rows


def icd9_table(codes, ccsref, prefixes, dot):
    """Rows (dotted code, status, ccs, display): v32 billable codes, retired codes (in the CCS reference
    of all codes since 1980 but not in v32; a code that was billable then and is a category now, like
    585 before 585.1-585.9, counts as retired), and header codes (prefixes of billable codes)."""
    rows = {}
    for code, title in codes.items():
        if code not in ccsref:
            raise SourceError("v32 code %s has no CCS category" % code)
        rows[dot(code)] = (STATUS_BILLABLE, str(ccsref[code][0]), title)
    for code, (ccs, _, title) in ccsref.items():
        if code not in codes:
            rows[dot(code)] = (STATUS_RETIRED, str(ccs), title)
    for code in codes:
        for p in prefixes(code):
            if p not in rows:
                rows[p] = (STATUS_HEADER, "", "")
    return sorted((c,) + v for c, v in rows.items())


def read_services(path):
    """2016_ccs_services_procedures.csv -> sorted [(lo, hi, ccs, label)]."""
    out = []
    with open(path, encoding="latin-1", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["Code Range", "CCS", "CCS Label"]:
        fail(path, 1, "unexpected header")
    for n, r in enumerate(rows[1:], 2):
        if len(r) != 3 or not r[1].isdigit():
            fail(path, n, "expected 'range,ccs,label'")
        lo, _, hi = r[0].strip("'").partition("-")
        if not RANGE_CODE_RE.match(lo) or not RANGE_CODE_RE.match(hi) or \
                re.sub("[0-9]", "9", lo) != re.sub("[0-9]", "9", hi) or code_key(lo) > code_key(hi):
            fail(path, n, "bad code range %r" % r[0])
        out.append((lo, hi, int(r[1]), clean_text(r[2])))
    out.sort(key=lambda r: code_key(r[0]))
    check_disjoint(path, out)
    return out


def code_key(code):
    """Orders 5-character CPT/HCPCS codes by form, then number: 5 digits first, then 4 digits + letter
    (by letter), then letter + 4 digits (by letter); the loader (src/codes/cpt.c) uses the same order."""
    if code.isdigit():
        return int(code)
    if code[4].isalpha():
        return (100 + ord(code[4]) - ord("A")) * 100000 + int(code[:4])
    return (200 + ord(code[0]) - ord("A")) * 100000 + int(code[1:])


def check_disjoint(path, ranges):
    """ranges sorted by code_key of lo: each must end before the next starts."""
    for a, b in zip(ranges, ranges[1:]):
        if code_key(b[0]) <= code_key(a[1]):
            raise SourceError("%s: ranges %s-%s and %s-%s overlap" % (path, a[0], a[1], b[0], b[1]))


def services_ccs(services, keys, code):
    """CCS category of the (sorted, disjoint) range holding code, or None; keys: code_key of each lo."""
    i = bisect.bisect_right(keys, code_key(code)) - 1
    if i >= 0 and code_key(services[i][0]) <= code_key(code) <= code_key(services[i][1]):
        return services[i][2]
    return None


def read_hcpcs(path, services):
    """CMS HCPCS 2020 fixed-width records (layout of the CMS "HCPC2020 record layout"): HCPC 1-5,
    sequence 6-10, record id 11 (3 = first line of a procedure, 4 = its continuation, 7/8 = modifiers,
    skipped), long description 12-91, termination date 285-292. A code with a termination date is retired."""
    rows, last = {}, None
    with open(path, encoding="latin-1", newline="") as f:
        lines = f.read().split("\r\n")
    for n, line in enumerate(lines, 1):
        if len(line) < 11 or line[10] not in "3478" or not line[5:10].isdigit():
            last = None
            continue
        code, rec = line[:5], line[10]
        if rec == "3":
            if not HCPCS_RE.match(code) or code in rows or len(line) < 293:
                fail(path, n, "bad or duplicate procedure record %r" % code)
            term = line[284:292].strip()
            rows[code] = [STATUS_RETIRED if term else STATUS_BILLABLE, line[11:91]]
            last = code
        elif rec == "4":
            if code != last:
                fail(path, n, "continuation of %r without its first line" % code)
            rows[code][1] += " " + line[11:91]
    out, keys = [], [code_key(r[0]) for r in services]
    for code in sorted(rows):
        ccs = services_ccs(services, keys, code)
        out.append((code, rows[code][0], "" if ccs is None else str(ccs), clean_text(rows[code][1])))
    return out


def split_range(text, path, n):
    lo, _, hi = text.strip().partition("-")
    hi = hi or lo
    if not RANGE_CODE_RE.match(lo) or not RANGE_CODE_RE.match(hi) or code_key(lo) > code_key(hi) or \
            re.sub("[0-9]", "9", lo) != re.sub("[0-9]", "9", hi):
        fail(path, n, "bad CPT range %r" % text)
    return lo, hi


def read_cpt_sections(path):
    """MIMIC D_CPT.csv -> rows (level, lo, hi, status, label); a subsection whose header says
    "(deleted code)" or "(deleted codes)" holds retired codes."""
    sections, subsections = {}, []
    with open(path, encoding="utf-8", newline="") as f:
        for n, r in enumerate(csv.DictReader(f), 2):
            for part in r["sectionrange"].split(";"):
                lo, hi = split_range(part, path, n)
                sections[(lo, hi)] = clean_text(r["sectionheader"])
            lo, hi = split_range(r["subsectionrange"], path, n)
            label = clean_text(r["subsectionheader"])
            deleted = re.search(r"\(deleted codes?\)", label) is not None
            subsections.append(("subsection", lo, hi, STATUS_RETIRED if deleted else STATUS_BILLABLE, label))
    rows = [("section", lo, hi, STATUS_BILLABLE, label) for (lo, hi), label in sections.items()]
    rows.sort(key=lambda r: code_key(r[1]))
    subsections.sort(key=lambda r: code_key(r[1]))
    check_disjoint(path, [r[1:3] for r in rows])
    check_disjoint(path, [r[1:3] for r in subsections])
    return rows + subsections


def read_chapters(path):
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        for n, r in enumerate(csv.DictReader(f), 2):
            lo, hi = r["start"].strip(), r["end"].strip()
            if not re.fullmatch(r"[0-9]{3}|V[0-9]{2}|E[0-9]{3}", lo) or len(lo) != len(hi) or lo > hi:
                fail(path, n, "bad chapter range")
            out.append((lo, hi, clean_text(r["title"])))
    return out


def write_table(path, columns, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("#" + "\t".join(columns) + "\n")
        for r in rows:
            cells = [str(c) for c in r]
            if any("\t" in c or "\n" in c for c in cells) or len(cells) != len(columns):
                raise SourceError("%s: bad row %r" % (path, r))
            f.write("\t".join(cells) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=os.path.join(repo_root(), "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(repo_root(), "mappings", "codes"))
    args = ap.parse_args()
    d = args.data_dir
    try:
        dx = read_cms_long(os.path.join(d, "icd9cm", "CMS32_DESC_LONG_DX.txt"), DX_RE)
        px = read_cms_long(os.path.join(d, "icd9cm", "CMS32_DESC_LONG_SG.txt"), PX_RE)
        dxref = read_ccs_ref(os.path.join(d, "ccs", "$dxref 2015.csv"), 6)
        prref = read_ccs_ref(os.path.join(d, "ccs", "$prref 2015.csv"), 4)
        services = read_services(os.path.join(d, "ccs", "2016_ccs_services_procedures.csv"))
        ccs = ccs_categories(os.path.join(d, "ccs", "hcup_ccs_2015_definitions.yaml"), dxref, prref,
                             [(lo, ccs, label) for lo, _, ccs, label in services])
        tables = {
            "icd9_dx.tsv": (("code", "status", "ccs", "display"), icd9_table(dx, dxref, dx_prefixes, dot_dx)),
            "icd9_px.tsv": (("code", "status", "ccs", "display"), icd9_table(px, prref, px_prefixes, dot_px)),
            "hcpcs.tsv": (("code", "status", "ccs", "display"),
                          read_hcpcs(os.path.join(d, "hcpcs", "HCPC2020_ANWEB_w_disclaimer.txt"), services)),
            "ccs.tsv": (("scheme", "id", "label", "phenotype"), ccs),
            "ccs_services.tsv": (("lo", "hi", "ccs"), [(lo, hi, c) for lo, hi, c, _ in services]),
            "cpt_sections.tsv": (("level", "lo", "hi", "status", "label"),
                                 read_cpt_sections(os.path.join(d, "mimic3-demo", "D_CPT.csv"))),
            "icd9_chapters.tsv": (("lo", "hi", "title"),
                                  read_chapters(os.path.join(d, "icd9cm", "icd9cm_chapters_compiled.csv"))),
        }
    except (OSError, SourceError, KeyError, UnicodeDecodeError) as e:
        print("import-codes: error: %s" % e, file=sys.stderr)
        return 3
    os.makedirs(args.out, exist_ok=True)
    for name, (columns, rows) in tables.items():
        write_table(os.path.join(args.out, name), columns, rows)
        counts = {}
        if columns[1] == "status":
            for r in rows:
                counts[r[1]] = counts.get(r[1], 0) + 1
        print("import-codes: %-18s %6d rows %s" % (name, len(rows),
              " ".join("%s=%d" % kv for kv in sorted(counts.items()))), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
