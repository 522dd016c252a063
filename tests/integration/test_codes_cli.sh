# test_codes_cli.sh - `llmsyn-fhir codes`: lookups and searches, exit statuses, shipped tables that work without
# ../shared, every MIMIC demo code classified against an independent reading of the raw CMS/AHRQ files,
# the import script reproducing the shipped tables, and a short run of the libFuzzer targets.
. "$(dirname "$0")/lib.sh"

SHARED=${LLMSYN_SHARED_DATA:-$ROOT/../shared/data}

expect_exit 0 "$BIN" codes lookup 410.71
for want in "system:     icd9-dx" "code:       410.71" "display:    Subendocardial infarction, initial episode of care" \
            "status:     billable" "validation: exact" "ccs:        100: Acute myocardial infarction" \
            "phenotype:  Acute myocardial infarction"; do
    grep -qxF "$want" "$TMP/stdout" || fail "lookup 410.71 lacks '$want': $(cat "$TMP/stdout")"
done
expect_exit 0 "$BIN" codes lookup --system icd9-dx 51881
grep -qxF "phenotype:  Respiratory failure; insufficiency; arrest (adult)" "$TMP/stdout" || fail "518.81 phenotype"
expect_exit 0 "$BIN" codes lookup 428 --system icd9-dx
grep -q "^status:     header" "$TMP/stdout" || fail "428 is not a header: $(cat "$TMP/stdout")"
expect_exit 0 "$BIN" codes lookup --system icd9-dx 585
grep -q "^status:     retired" "$TMP/stdout" || fail "585 is not retired"
expect_exit 0 "$BIN" codes lookup --system cpt 99223
grep -qxF "validation: structural" "$TMP/stdout" || fail "cpt without a licensed file is not structural"
grep -qxF "display:    -" "$TMP/stdout" || fail "a CPT display was printed without a licensed file"
expect_exit 0 "$BIN" codes lookup --system icd9-px 9671
grep -qxF "code:       96.71" "$TMP/stdout" || fail "9671 is not 96.71"
ok "lookup: display, status, validation level, CCS, phenotype; header, retired, structural CPT, px codes"

expect_exit 11 "$BIN" codes lookup 999.99
expect_stderr "llmsyn-fhir: error: '999.99' is not a known icd9-dx, icd9-px, cpt or hcpcs code"
[ "$(wc -l <"$TMP/stderr")" -eq 1 ] || fail "not-found message is not one line"
[ ! -s "$TMP/stdout" ] || fail "not found printed something on stdout"
expect_exit 11 "$BIN" codes lookup --system hcpcs 99223
expect_stderr "'99223' is not a known hcpcs code"
expect_exit 11 "$BIN" codes lookup 410.71 E87
grep -qxF "code:       410.71" "$TMP/stdout" || fail "the known code of a mixed lookup was not printed"
expect_stderr "'E87' is not a known"
"$BIN" codes --help | grep -q "11 not found" || fail "usage text does not document exit status 11"
"$BIN" --help | grep -q "codes lookup" || fail "main usage does not list codes"
ok "unknown code: exit 11, one line on stderr, documented"

expect_exit 0 "$BIN" codes search "acute myocardial infarction" --limit 3
[ "$(wc -l <"$TMP/stdout")" -eq 3 ] || fail "--limit 3 gave $(wc -l <"$TMP/stdout") lines"
awk -F'\t' '$1 != "icd9-dx" || $2 !~ /^410\./ { exit 1 }' "$TMP/stdout" || fail "search: $(cat "$TMP/stdout")"
expect_exit 0 "$BIN" codes search --system icd9-px "mechanical ventilation"
grep -qP "^icd9-px\t96\.7[0-2]\t" "$TMP/stdout" || fail "px search: $(cat "$TMP/stdout")"
expect_exit 0 "$BIN" codes search --system cpt wheelchair --limit 2
awk -F'\t' '$1 != "hcpcs" { exit 1 }' "$TMP/stdout" || fail "cpt search without licence must give HCPCS only"
expect_exit 11 "$BIN" codes search "zzqqxx"
expect_stderr "no icd9-dx code matches 'zzqqxx'"
ok "search: ranked, --limit, --system, no match exits 11"

expect_exit 2 "$BIN" codes
expect_exit 2 "$BIN" codes frobnicate 1
expect_stderr "unknown codes command 'frobnicate'"
expect_exit 2 "$BIN" codes lookup --system icd10 428
expect_stderr "--system: 'icd10' is not icd9-dx, icd9-px, cpt or hcpcs"
expect_exit 2 "$BIN" codes search heart --limit 0
expect_stderr "--limit: '0' is not a whole number from 1 to 1000"
expect_exit 2 "$BIN" codes lookup
expect_stderr "needs at least one CODE"
expect_exit 2 "$BIN" codes search heart failure
expect_exit 2 "$BIN" codes lookup --bogus 1
expect_stderr "unknown option '--bogus'"
ok "usage errors exit 2 naming the flag"

# The shipped tables alone: a copy of mappings/ outside the tree, and a binary that cannot see ../shared.
mkdir -p "$TMP/data"
cp -r "$ROOT/mappings" "$TMP/data/"
expect_exit 0 env LLMSYN_SHARED_DATA=/nonexistent "$BIN" codes lookup --data-dir "$TMP/data" V5861
grep -qxF "code:       V58.61" "$TMP/stdout" || fail "lookup with --data-dir"
expect_exit 0 env LLMSYN_DATA_DIR="$TMP/data" "$BIN" codes lookup E8788
grep -qxF "code:       E878.8" "$TMP/stdout" || fail "lookup with LLMSYN_DATA_DIR"
printf '428.0\tB\t108\tdouble\n' >>"$TMP/data/mappings/codes/icd9_dx.tsv"
expect_exit 3 "$BIN" codes lookup --data-dir "$TMP/data" 428.0
line=$(wc -l <"$TMP/data/mappings/codes/icd9_dx.tsv")
expect_stderr "icd9_dx.tsv:$line: duplicate code 428.0 (first on line"
[ "$(wc -l <"$TMP/stderr")" -eq 1 ] || fail "dictionary error is not one line"
ok "works from a copy of mappings/ alone; a broken table exits 3 naming file and line"

printf 'code,description\n99223,"Made-up test text, not AMA"\n' >"$TMP/cpt.csv"
expect_exit 0 "$BIN" codes lookup --system cpt --cpt-dict "$TMP/cpt.csv" 99223
grep -qxF "display:    Made-up test text, not AMA" "$TMP/stdout" || fail "licensed display"
grep -qxF "validation: exact" "$TMP/stdout" || fail "licensed CPT is not exact"
expect_exit 11 "$BIN" codes lookup --system cpt --cpt-dict "$TMP/cpt.csv" 99232
printf '99223,x\n99223,y\n' >"$TMP/dup.csv"
expect_exit 3 "$BIN" codes lookup --cpt-dict "$TMP/dup.csv" 99223
expect_stderr "dup.csv:2: duplicate code (first on line 1): '99223'"
ok "--cpt-dict: exact CPT validation and displays from the user's file; its errors name file and line"

# Every code of the MIMIC demo, classified by the CLI and, independently, from the raw CMS and AHRQ files.
[ -d "$SHARED/mimic3-demo" ] || fail "no shared data at $SHARED (set LLMSYN_SHARED_DATA)"
python3 - "$BIN" "$SHARED" <<'PY' || fail "MIMIC demo classification"
import csv, subprocess, sys
binary, shared = sys.argv[1], sys.argv[2]

def cms_codes(name):
    return {line.split(" ", 1)[0] for line in open(f"{shared}/icd9cm/{name}", encoding="latin-1")}

def ccs_codes(name):  # every code listed by AHRQ CCS (all ICD-9-CM codes since 1980)
    lines = open(f"{shared}/ccs/{name}", encoding="latin-1").read().splitlines()[2:]
    return {l.split(",", 1)[0].strip("' ") for l in lines if l.strip()} - {""}

def dx_dot(c):
    head = 4 if c[0] == "E" else 3
    return c if len(c) <= head else c[:head] + "." + c[head:]

def px_dot(c):
    return c if len(c) <= 2 else c[:2] + "." + c[2:]

def expect_icd(code, v32, since1980):
    if code in v32:
        return "billable"
    if code in since1980:
        return "retired"
    if any(v.startswith(code) for v in v32):
        return "header"
    return "invalid"

def cpt_ranges():
    sections, deleted = [], []
    for r in csv.DictReader(open(f"{shared}/mimic3-demo/D_CPT.csv")):
        for part in r["sectionrange"].split(";"):
            lo, _, hi = part.strip().partition("-")
            if lo.isdigit():
                sections.append((int(lo), int(hi or lo)))
        lo, _, hi = r["subsectionrange"].partition("-")
        if "(deleted code" in r["subsectionheader"]:
            deleted.append((int(lo), int(hi or lo)))
    ccs = []
    for r in list(csv.reader(open(f"{shared}/ccs/2016_ccs_services_procedures.csv")))[1:]:
        lo, hi = r[0].strip("'").split("-")
        if lo.isdigit():
            ccs.append((int(lo), int(hi)))
    return sections, deleted, ccs

def expect_cpt(code, sections, deleted, ccs):
    inside = lambda rs: any(lo <= int(code) <= hi for lo, hi in rs)
    if not (len(code) == 5 and code.isdigit() and inside(sections) and inside(ccs)):
        return "invalid"
    return "retired" if inside(deleted) else "valid"

def cli_status(system, codes):
    res = subprocess.run([binary, "codes", "lookup", "--system", system, *codes], capture_output=True, text=True)
    got = {}
    for block in res.stdout.strip().split("\n\n"):
        fields = dict(l.split(":", 1) for l in block.splitlines())
        got[fields["code"].strip()] = fields["status"].split()[0]
    return got

def rows(name, col):
    return [r[col] for r in csv.DictReader(open(f"{shared}/mimic3-demo/{name}"))]

sections, deleted, ccs = cpt_ranges()
checks = [
    ("DIAGNOSES_ICD.csv", "icd9_code", "icd9-dx", dx_dot,
     lambda c, v=cms_codes("CMS32_DESC_LONG_DX.txt"), s=ccs_codes("$dxref 2015.csv"): expect_icd(c, v, s)),
    ("PROCEDURES_ICD.csv", "icd9_code", "icd9-px", px_dot,
     lambda c, v=cms_codes("CMS32_DESC_LONG_SG.txt"), s=ccs_codes("$prref 2015.csv"): expect_icd(c, v, s)),
    ("CPTEVENTS.csv", "cpt_cd", "cpt", lambda c: c, lambda c: expect_cpt(c, sections, deleted, ccs)),
]
counts = {}
for name, col, system, dot, expect in checks:
    values = rows(name, col)
    got = cli_status(system, sorted(set(values)))
    tally = {}
    for v in values:
        want, have = expect(v), got.get(dot(v), "invalid")
        if want != have:
            sys.exit(f"{name} {v}: cli says {have}, raw files say {want}")
        tally[want] = tally.get(want, 0) + 1
    counts[name] = tally
    print(f"{name}: {len(values)} rows, {len(set(values))} codes: " +
          ", ".join(f"{k} {n}" for k, n in sorted(tally.items())))
# The issue expects 45 rows with codes retired before v32 in the demo's diagnoses (icd9cm/SOURCES.md agrees).
assert counts["DIAGNOSES_ICD.csv"].get("retired") == 45, counts
assert counts["PROCEDURES_ICD.csv"].get("retired") == 3, counts
assert sum(counts["CPTEVENTS.csv"].values()) == 1579 and "invalid" not in counts["CPTEVENTS.csv"], counts
PY
ok "every MIMIC demo code classified as the raw CMS/AHRQ files say (45 retired diagnosis rows)"

# The import script rebuilds the shipped tables byte for byte; none holds a CPT descriptor.
python3 "$ROOT/tools/import-codes.py" "$SHARED" --out "$TMP/codes" 2>"$TMP/import.log" || { cat "$TMP/import.log"; fail "import"; }
diff -r "$ROOT/mappings/codes" "$TMP/codes" >/dev/null || fail "tools/import-codes.py output differs from mappings/codes"
! grep -qP '^[0-9]{4}[0-9FTU]\t' "$ROOT/mappings/codes/hcpcs.tsv" || fail "a CPT code in hcpcs.tsv"
! grep -rqP '\t[0-9]{4}[0-9FTU]\t[^\t]*[a-z]{4}' "$ROOT/mappings/codes/ccs_services.tsv" || fail "text in ccs_services.tsv"
ok "tools/import-codes.py reproduces mappings/codes; no CPT descriptors shipped"

# The libFuzzer targets, briefly (tests/fuzz/run.sh builds them with clang).
FUZZ_TARGETS="codes tables" "$ROOT/tests/fuzz/run.sh" 5 "$(dirname "$BIN")" >"$TMP/fuzz.log" 2>&1 || { cat "$TMP/fuzz.log"; fail "fuzzing"; }
ok "fuzz_codes and fuzz_tables ran 5 s each without a crash"
echo "$checks checks passed"
