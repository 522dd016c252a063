# test_post_ndjson.sh - `llmsyn-fhir post` of FHIR NDJSON (--format ndjson) against the FHIR R4 test server.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"

post() { "$BIN" post "$@"; }
posts() { stat posts; }
# same_lines DIR WHAT: for every DIR/*.ndjson, the server holds as many resources of that type as the
# file has non-blank lines (the ids are unique, checked by the poster).
same_lines() {
    local f t want got
    for f in "$1"/*.ndjson; do
        t=$(basename "$f" .ndjson)
        [ "$t" = post-journal ] && continue
        want=$(grep -c '[^[:space:]]' "$f")
        got=$(stat "counts.$t")
        [ "$want" -gt 0 ] && [ "$got" = "$want" ] || fail "$t: server holds $got, $f has $want lines ($2)"
    done
}
# chunks: the number of bundles the last post planned (from its first stderr line).
chunks() { sed -n 's/.* NDJSON files\{0,1\}: \([0-9]*\) bundles.*/\1/p' "$TMP/stderr" | head -1; }
# ok_lines DIR: distinct chunks journaled as ok.
ok_lines() { grep '"outcome":"ok"' "$1/post-journal.ndjson" | grep -o '"file":"[^"]*"' | sort -u | wc -l; }

start_server
"$BIN" -n 200 --out "$TMP/gen" --format ndjson --seed 21 -q >/dev/null 2>&1 || fail "generate 200 ndjson records"
mkdir "$TMP/pristine" && cp "$TMP/gen"/*.ndjson "$TMP/pristine/"
for t in Patient Encounter Condition Procedure; do [ -s "$TMP/pristine/$t.ndjson" ] || fail "no $t.ndjson generated"; done
# What the writer emits: references between the files are literal Type/id (bulk-data style).
grep -q '"subject":{"reference":"Patient/' "$TMP/pristine/Encounter.ndjson" ||
    fail "Encounter.ndjson does not reference its Patient as Patient/id (update this test and the docs)"
cp -r "$TMP/pristine" "$TMP/n"
resources=$(cat "$TMP"/pristine/*.ndjson | grep -c '[^[:space:]]')

# 1. 200 records as NDJSON: every resource stored under its own id; references resolve on a server that
#    checks them (Encounter <-> Condition cycle, Procedure -> Encounter, everything -> Patient).
expect_exit 0 post "$TMP/n" --to "$URL" --concurrency 4
same_lines "$TMP/n" "first post"
n=$(chunks)
[ -n "$n" ] && [ "$n" -gt 10 ] || fail "expected more than 10 bundles of at most 100 entries, planned '$n'"
expect_stderr "posted $n of $n bundles"
expect_stderr "in 3 phases"
grep -qE "posted $n of $n .*: $resources entries created, 0 updated" "$TMP/stderr" ||
    fail "not every resource was created once: $(tail -1 "$TMP/stderr")"
[ "$(ok_lines "$TMP/n")" -eq "$n" ] || fail "journal lacks $n ok chunks"
grep -q '"file":"Patient.ndjson#1-100"' "$TMP/n/post-journal.ndjson" || fail "chunk ids are not file#lines"
pid=$(head -1 "$TMP/n/Patient.ndjson" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
eid=$(head -1 "$TMP/n/Encounter.ndjson" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf "$URL/Encounter/$eid" | python3 -c '
import json, sys
e = json.load(sys.stdin); ref = e["subject"]["reference"]
assert ref == "Patient/" + sys.argv[1], ref
assert e["diagnosis"] and all(d["condition"]["reference"].startswith("Condition/") for d in e["diagnosis"]), e' "$pid" ||
    fail "the stored Encounter's references are not resolved Type/id"
curl -sf "$URL/Patient/$pid" >/dev/null || fail "Patient/$pid is not stored under its own id"
ok "200 records as NDJSON: $n bundles in 3 phases; server counts equal the lines per file; references resolve"

# 2. The same command again sends nothing; without the journal it updates, creating no duplicates.
before=$(posts)
expect_exit 0 post "$TMP/n" --to "$URL"
[ "$(posts)" = "$before" ] || fail "a rerun with a complete journal sent $(($(posts) - before)) bundles"
expect_stderr "$n already posted"
rm "$TMP/n/post-journal.ndjson"
ctl fault '{"faults":["429:2:1","503:2","500:1","reset:1","reset-after:2","entry-fail:1"]}'
expect_exit 0 post "$TMP/n" --to "$URL" --concurrency 4
grep -qE "posted $n of $n .*: 0 entries created, [1-9][0-9]* updated" "$TMP/stderr" ||
    fail "second post created entries or updated none: $(tail -1 "$TMP/stderr")"
grep -q "retrying in" "$TMP/stderr" || fail "no retry reported under faults"
[ "$(stat faultsLeft)" = 0 ] || fail "faults left unserved"
same_lines "$TMP/n" "second post"
ok "rerun with the journal sends nothing; without it, under 429/503/500/resets, updates only, no duplicates"

# 3. kill -9 mid-upload (slow replies, small bundles), then the same command resumes exactly.
ctl reset
cp -r "$TMP/pristine" "$TMP/k"
ctl fault '{"faults":["slow:40:250"]}'
"$BIN" post "$TMP/k" --to "$URL" --concurrency 2 --max-bundle-entries 20 -q >/dev/null 2>&1 &
bg=$!
for _ in $(seq 600); do
    [ -f "$TMP/k/post-journal.ndjson" ] && [ "$(wc -l <"$TMP/k/post-journal.ndjson")" -ge 12 ] && break; sleep 0.02
done
kill -9 "$bg"; wait "$bg" 2>/dev/null
done_before=$(ok_lines "$TMP/k")
expect_exit 0 post "$TMP/k" --to "$URL" --concurrency 2 --max-bundle-entries 20
total=$(chunks)
[ "$done_before" -ge 12 ] && [ "$done_before" -lt "$total" ] || fail "kill -9 landed at $done_before of $total bundles"
expect_stderr "$done_before already posted"
expect_stderr "posted $((total - done_before)) of $total bundles"
same_lines "$TMP/k" "after kill -9 and resume"
[ "$(posts)" -le $((total + 2)) ] || fail "resume re-sent bundles that had succeeded: $(posts) posts for $total bundles"
[ "$(ok_lines "$TMP/k")" -eq "$total" ] || fail "journal does not hold each of the $total bundles"
[ "$(grep -c '"outcome":"ok"' "$TMP/k/post-journal.ndjson")" -le $((total + 2)) ] || fail "chunks journaled twice"
ok "kill -9 after $done_before of $total bundles; resume sent the rest; counts exact"

# 4. Bad input: nothing is sent, no journal is written, exit 3 naming file:line.
ctl reset
cp -r "$TMP/pristine" "$TMP/bad"
python3 - "$TMP/bad" <<'PY'
import sys
d = sys.argv[1]
lines = open(f"{d}/Patient.ndjson").read().splitlines(True)
lines.insert(2, "   \n")                       # a blank line: ignored, but counted in line numbers
open(f"{d}/Patient.ndjson", "w").write("".join(lines))
lines = open(f"{d}/Procedure.ndjson").read().splitlines(True)
lines[6] = lines[6][: len(lines[6]) // 2] + "\n"  # line 7 cut in half
open(f"{d}/Procedure.ndjson", "w").write("".join(lines))
PY
expect_exit 3 post "$TMP/bad" --to "$URL"
expect_stderr "$TMP/bad/Procedure.ndjson:7: not valid JSON"
[ "$(posts)" = 0 ] && [ ! -e "$TMP/bad/post-journal.ndjson" ] || fail "a malformed line still sent something"
sed -i '7s/.*/{"resourceType":"Procedure","status":"completed"}/' "$TMP/bad/Procedure.ndjson"
expect_exit 3 post "$TMP/bad" --to "$URL"
expect_stderr "Procedure.ndjson:7: no valid id"
sed -i '7s/.*/[1,2]/' "$TMP/bad/Procedure.ndjson"
expect_exit 3 post "$TMP/bad" --to "$URL"
expect_stderr "Procedure.ndjson:7: not a JSON object"
python3 - "$TMP/bad/Procedure.ndjson" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
lines[6] = lines[7]                           # line 7 becomes a copy of line 8
open(sys.argv[1], "w").write("".join(lines))
PY
expect_exit 3 post "$TMP/bad" --to "$URL"
expect_stderr "Procedure.ndjson:8: Procedure/"
expect_stderr "is also at $TMP/bad/Procedure.ndjson:7"
[ "$(posts)" = 0 ] || fail "bad input sent something"
ok "malformed, id-less, non-object and duplicate lines: exit 3 with file:line, nothing sent"

# 5. Blank lines are ignored; a single .ndjson file works (journal next to it); a file whose urn:uuid
#    references (bundle-style NDJSON of other tools) point outside it is refused before sending.
cp "$TMP/pristine/Procedure.ndjson" "$TMP/bad/Procedure.ndjson"
expect_exit 0 post "$TMP/bad/Patient.ndjson" --to "$URL"
[ "$(stat counts.Patient)" = 200 ] && [ "$(stat counts.Encounter)" = 0 ] || fail "single file: wrong counts"
expect_stderr "200 resources in 1 NDJSON files: 2 bundles"
grep -q '"file":"Patient.ndjson#1-101"' "$TMP/bad/post-journal.ndjson" || fail "single file: journal not next to it"
before=$(posts)
mkdir "$TMP/urn" && sed 's#"reference":"Patient/#"reference":"urn:uuid:#' "$TMP/pristine/Encounter.ndjson" >"$TMP/urn/Encounter.ndjson"
expect_exit 3 post "$TMP/urn/Encounter.ndjson" --to "$URL"
expect_stderr "Encounter.ndjson:1: reference 'urn:uuid:"
expect_stderr "names no resource of the input"
expect_exit 0 post "$TMP/bad" --to "$URL"
expect_stderr "2 already posted"
same_lines "$TMP/bad" "folder with a blank line after a single-file post"
[ "$(posts)" -le "$((before + n))" ] || fail "the folder post re-sent more than its bundles"
ok "single .ndjson file posts (journal beside it); blank lines ignored; references outside a file refused"

# 6. A bundle the server refuses stops the later phases (their references would dangle); fixed, a
#    rerun completes. Batch bundles work too.
ctl reset
cp -r "$TMP/pristine" "$TMP/r"
sed -i '150s/^{"resourceType":"Patient",/{"resourceType":"Patient","bogusField":1,/' "$TMP/r/Patient.ndjson"
expect_exit 6 post "$TMP/r" --to "$URL"
expect_stderr "Patient.ndjson#101-200: HTTP 400"
expect_stderr "were not sent (they may reference what failed)"
grep -qE "posted 1 of $n .* 1 failed; $((n - 2)) not sent" "$TMP/stderr" || fail "summary after a failed phase: $(tail -2 "$TMP/stderr")"
[ "$(stat counts.Patient)" = 100 ] && [ "$(stat counts.Encounter)" = 0 ] || fail "later phases were sent"
cp "$TMP/pristine/Patient.ndjson" "$TMP/r/"
expect_exit 0 post "$TMP/r" --to "$URL"
expect_stderr "1 already posted"
same_lines "$TMP/r" "after fixing the refused resource"
ctl reset
cp -r "$TMP/pristine" "$TMP/b"
expect_exit 0 post "$TMP/b" --to "$URL" --bundle-type batch --max-bundle-entries 50
same_lines "$TMP/b" "batch"
ok "a refused bundle stops the later phases; rerun completes; batch bundles stored"

# 7. Usage and input errors around NDJSON.
expect_exit 2 post "$TMP/b" --to "$URL" --request post
expect_stderr "--request post cannot post NDJSON"
expect_exit 3 post "$TMP/b" --to "$URL" --max-bundle-entries 2
expect_stderr "other resources reference one another; more than --max-bundle-entries 2"
"$BIN" -n 2 --out "$TMP/both" --seed 3 -q >/dev/null 2>&1 || fail "generate 2 bundles"
cp "$TMP/pristine/Patient.ndjson" "$TMP/both/"
expect_exit 3 post "$TMP/both" --to "$URL"
expect_stderr "holds both record-*.json bundles and *.ndjson files"
ok "--request post, a cycle over the entry cap, and mixed folders are refused clearly"
echo "$checks checks passed"
