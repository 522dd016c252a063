# test_knowledge.sh - the knowledge base z_R: checker policy over all 100 prior diagnoses, the cards reaching
# the builtin backend, and the fake MedlinePlus Connect service the unit tests use.
. "$(dirname "$0")/lib.sh"

DATA="$ROOT/../shared/data"
CHECK="$ROOT/tools/check-knowledge.py"

# The shipped file passes the project's policy and covers every diagnosis of the prior.
expect_exit 0 python3 "$CHECK" "$DATA"
grep -q "^prior diagnoses with a card: 100 of 100$" "$TMP/stdout" || fail "coverage line: $(cat "$TMP/stdout")"
grep -q "knowledge.json: 0 error(s), 0 warning(s)" "$TMP/stdout" || fail "checker summary: $(cat "$TMP/stdout")"
ok "check-knowledge.py: 100 of 100 prior diagnoses have cards, no errors or warnings"

# Each rule bites: a missing card, a non-billable complication, a CPT code outside every range, an
# over-long label, too many sentences.
python3 - "$ROOT/mappings/knowledge.json" "$TMP" <<'PY' || fail "making broken copies"
import json, sys
src, out = sys.argv[1], sys.argv[2]
def variant(name, change):
    doc = json.load(open(src, encoding="utf-8"))
    change(doc["cards"])
    json.dump(doc, open("%s/%s.json" % (out, name), "w", encoding="utf-8"))
def card(cards, code):
    return [c for c in cards if c["icd9"] == code][0]
variant("missing", lambda cards: cards.remove(card(cards, "274.9")))
variant("icd9", lambda cards: card(cards, "790.7")["complication_codes"][0].update(code="038"))
variant("cpt", lambda cards: card(cards, "V45.01")["procedure_codes"][0].update(code="00050"))
variant("label", lambda cards: card(cards, "443.9")["procedure_codes"][0].update(display="x" * 61))
variant("prose", lambda cards: card(cards, "263.9").update(treatments="One. Two. Three. Four. Five."))
PY
check_bad() {
    expect_exit 1 python3 "$CHECK" "$DATA" --knowledge "$TMP/$1.json"
    grep -qF -- "$2" "$TMP/stderr" || { cat "$TMP/stderr" >&2; fail "$1: stderr lacks '$2'"; }
}
check_bad missing "no card for prior diagnosis 274.9"
check_bad icd9 "038 is not a billable code in CMS32_DESC_LONG_DX.txt"
check_bad cpt "00050 is neither in CPTEVENTS.csv nor inside a D_CPT.csv subsection"
check_bad label "display: longer than 60 characters"
check_bad prose "treatments: has 5 sentences, want 2-4"
ok "check-knowledge.py refuses a missing card, a bad code, a bad CPT, a long label, long prose"

# Every code of every card passes the shipped dictionaries (src/codes): diagnoses billable in ICD-9-CM v32,
# procedures valid CPT.
python3 - "$ROOT/mappings/knowledge.json" "$TMP" <<'PY' || fail "listing card codes"
import json, sys
cards = json.load(open(sys.argv[1], encoding="utf-8"))["cards"]
dx = {c["icd9"] for c in cards if c["icd9"] != "*"} | {h["code"] for c in cards for h in c["complication_codes"]}
cpt = {h["code"] for c in cards for h in c["procedure_codes"]}
open(sys.argv[2] + "/dx.txt", "w").write("\n".join(sorted(dx)))
open(sys.argv[2] + "/cpt.txt", "w").write("\n".join(sorted(cpt)))
PY
expect_exit 0 "$BIN" codes lookup --system icd9-dx $(cat "$TMP/dx.txt")
[ "$(grep -c '^status: *billable$' "$TMP/stdout")" -eq "$(wc -w <"$TMP/dx.txt")" ] ||
    fail "a card's diagnosis code is not billable: $(grep '^status:' "$TMP/stdout" | grep -v billable | head -3)"
expect_exit 0 "$BIN" codes lookup --system cpt $(cat "$TMP/cpt.txt")
[ "$(grep -c '^status: *valid' "$TMP/stdout")" -eq "$(wc -w <"$TMP/cpt.txt")" ] ||
    fail "a card's CPT code is not valid: $(grep '^status:' "$TMP/stdout" | grep -v valid | head -3)"
ok "every card code passes the dictionaries ($(wc -w <"$TMP/dx.txt") diagnosis, $(wc -w <"$TMP/cpt.txt") CPT)"

# The builtin backend answers from each diagnosis's own card: over many records, every complication and
# procedure of a record whose main diagnosis got a card in this issue is one of that card's hints.
expect_exit 0 "$BIN" --out "$TMP/csv" -n 3000 --format csv --seed 11 -q
python3 - "$ROOT/mappings/knowledge.json" "$TMP/csv/records.csv" <<'PY' || fail "records do not follow their cards"
import csv, json, sys
cards = {c["icd9"].replace(".", ""): c for c in json.load(open(sys.argv[1], encoding="utf-8"))["cards"]}
new = {"V5867", "42789", "32723", "9971", "2760", "5180", "45829", "2749", "4589", "73300", "51851", "V1251",
       "3572", "30000", "99811", "27800", "E8798", "41400", "60000", "7907", "2768", "4439", "V4501", "27651",
       "28521", "27652", "E8788", "27650", "V4986", "79902", "V103", "2639", "42832", "99812", "E8782", "V1046"}
seen = set()
for row in csv.DictReader(open(sys.argv[2], newline="")):
    main = row["ICD9_CODE"].replace(".", "")
    if main not in new:
        continue
    card = cards[main]
    comp = {h["code"].replace(".", "") for h in card["complication_codes"]}
    proc = {h["code"] for h in card["procedure_codes"]}
    got_c = [c.replace(".", "") for c in row["COMPLICATION_CODES"].split(";") if c]
    got_p = [c for c in row["CPT_CD"].split(";") if c]
    assert set(got_c) <= comp, (main, got_c, sorted(comp))
    assert set(got_p) <= proc, (main, got_p, sorted(proc))
    seen.add(main)
assert len(seen) >= 25, sorted(new - seen)
print("records checked for %d of the %d new cards" % (len(seen), len(new)))
PY
ok "builtin records use the complication and procedure hints of the new cards"

# The fake MedlinePlus Connect service: Atom answers for mapped and unmapped codes, 400 otherwise.
SERVER_PID=""
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap 'stop_server; rm -rf "$TMP"' EXIT
python3 "$ROOT/tests/servers/fake_medlineplus_connect.py" --log "$TMP/connect.jsonl" >"$TMP/port" 2>"$TMP/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(head -1 "$TMP/port")
[ -n "$PORT" ] || fail "fake connect server did not start: $(cat "$TMP/server.log")"
python3 - "$PORT" "$TMP" <<'PY' || fail "fake connect answers"
import sys, urllib.error, urllib.request
port, tmp = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s/service?mainSearchCriteria.v.cs=%s&mainSearchCriteria.v.c=%s&knowledgeResponseType=text/xml"
def get(cs, code):
    try:
        with urllib.request.urlopen(base % (port, cs, code), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
oid = "2.16.840.1.113883.6.103"
st, body = get(oid, "4280")
assert st == 200 and b"<title type=\"text\">Heart Failure</title>" in body, (st, body[:200])
open(tmp + "/a.xml", "wb").write(body)
st, body = get(oid, "V49.86")
assert st == 200 and b"<entry" not in body and b'term="V49.86"' in body, (st, body)
open(tmp + "/b.xml", "wb").write(body)
st, _ = get("2.16.840.1.113883.6.90", "I50.9")
assert st == 400, st
PY
xmllint --noout --nonet "$TMP/a.xml" "$TMP/b.xml" || fail "fake connect answers are not well-formed xml"
[ "$(wc -l <"$TMP/connect.jsonl")" -eq 3 ] || fail "request log: $(cat "$TMP/connect.jsonl")"
stop_server
ok "fake MedlinePlus Connect: Atom feeds for mapped and unmapped ICD-9-CM codes, 400 for other code systems"
echo "$checks checks passed"
