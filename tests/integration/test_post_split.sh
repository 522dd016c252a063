# test_post_split.sh - --max-bundle-entries/--max-bundle-bytes against a test server with caps: unsplit
# posting fails, split posting stores exactly what was generated with every reference resolved.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"

"$BIN" -n 120 --out "$TMP/b" --seed 7 -q >/dev/null 2>&1 || fail "generate 120"
cp -r "$TMP/b" "$TMP/pristine"
fresh() { rm -rf "$TMP/$1"; cp -r "$TMP/pristine" "$TMP/$1"; }
post() { "$BIN" post "$@"; }
# posts_log FIELD: "requests max-entries max-bytes sum-entries" over the POSTs the server logged.
log_summary() {
    python3 - "$TMP/req.log" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if '"method":"POST"' in l]
print(len(L), max(x["entries"] for x in L), max(x["bytes"] for x in L), sum(x["entries"] for x in L))
PY
}
total_entries=$(python3 -c 'import json,sys; print(sum(len(json.load(open(f))["entry"]) for f in sys.argv[1:]))' "$TMP"/pristine/record-*.json)
big=$(python3 -c 'import json,sys; print(sum(len(json.load(open(f))["entry"]) > 6 for f in sys.argv[1:]))' "$TMP"/pristine/record-*.json)
[ "$big" -gt 20 ] || fail "only $big bundles have more than 6 entries; the test needs more"

# 1. An entry cap of 6 (as Azure's 500, scaled down): unsplit, exactly the bigger bundles are refused.
start_server --max-entries 6 --log "$TMP/req.log"
fresh u
expect_exit 6 post "$TMP/u" --to "$URL"
expect_stderr "this server accepts at most 6"
[ "$(grep -c '"outcome":"failed"' "$TMP/u/post-journal.ndjson")" -eq "$big" ] || fail "unsplit: not exactly the $big big bundles failed"
[ "$(stat counts.Patient)" -eq $((120 - big)) ] || fail "unsplit: the small bundles were not stored"
ok "unsplit: the $big bundles over 6 entries are refused (exit 6), the others stored"

# 2. --max-bundle-entries 6: every bundle stored, counts exact, no request over the cap, every entry sent once.
ctl reset
: >"$TMP/req.log"
fresh s
expect_exit 0 post "$TMP/s" --to "$URL" --max-bundle-entries 6
expect_stderr "posted 120 of 120 bundles"
same_counts "$TMP/s" "split by entries"
[ "$(stat counts.Coverage)" -eq 120 ] || fail "Coverage count"
read -r nreq maxe _ sume <<<"$(log_summary)"
[ "$maxe" -le 6 ] || fail "a request held $maxe entries"
[ "$sume" -eq "$total_entries" ] || fail "the requests held $sume entries, the bundles $total_entries"
[ "$nreq" -gt 120 ] || fail "only $nreq requests for 120 bundles"
[ "$(stat updatedTwice)" -eq 0 ] || fail "an entry was written twice"
[ "$(grep -c '"outcome":"ok"' "$TMP/s/post-journal.ndjson")" -eq 120 ] || fail "journal after split"
grep -q '"created":' "$TMP/s/post-journal.ndjson" || fail "journal lacks counts"
ok "split by entries: 120 bundles in $nreq requests of at most 6 entries, $sume entries, counts exact"

# 3. Re-posting split bundles updates: nothing created, counts unchanged.
rm "$TMP/s/post-journal.ndjson"
expect_exit 0 post "$TMP/s" --to "$URL" --max-bundle-entries 6
grep -qE "posted 120 of 120 .*: 0 entries created, $total_entries updated" "$TMP/stderr" ||
    fail "re-posting split bundles: $(tail -1 "$TMP/stderr")"
same_counts "$TMP/s" "split re-post"
ok "re-posting split bundles updates all $total_entries entries, creates none"
stop_server

# 4. A byte cap (as Google's 50 MB, scaled down) together with the entry cap; batch too.
start_server --max-entries 6 --max-bytes 8000 --log "$TMP/req.log"
fresh y
small=$(python3 -c 'import json,os,sys; print(sum(len(json.load(open(f))["entry"]) <= 6 and os.path.getsize(f) <= 8000 for f in sys.argv[1:]))' "$TMP"/pristine/record-*.json)
expect_exit 6 post "$TMP/y" --to "$URL"
expect_stderr "HTTP 413: error too-costly: request body has"
[ "$(stat counts.Patient)" -eq "$small" ] || fail "unsplit: not exactly the $small bundles under both caps were stored"
ctl reset
fresh y
: >"$TMP/req.log"
expect_exit 0 post "$TMP/y" --to "$URL" --max-bundle-entries 6 --max-bundle-bytes 8000 -q
same_counts "$TMP/y" "split by bytes"
read -r nreq maxe maxb sume <<<"$(log_summary)"
[ "$maxb" -le 8000 ] && [ "$maxe" -le 6 ] && [ "$sume" -eq "$total_entries" ] ||
    fail "byte split: max $maxb bytes, $maxe entries, $sume of $total_entries entries"
ctl reset
fresh t
expect_exit 0 post "$TMP/t" --to "$URL" --max-bundle-entries 6 --max-bundle-bytes 8000 --bundle-type batch -q
same_counts "$TMP/t" "split batch"
ok "split by bytes (largest request $maxb <= 8000) and as batch: counts exact"

# 5. Clear refusals: a cycle (an Encounter and its diagnoses) larger than the cap; split conditional create.
fresh c
expect_exit 6 post "$TMP/c" --to "$URL" --max-bundle-entries 2 -q
grep -q "cannot split: entry .* reference one another" "$TMP/c/post-journal.ndjson" || fail "cycle over the cap not named"
expect_exit 2 post "$TMP/c" --to "$URL" --max-bundle-entries 6 --request post
expect_stderr "--request post cannot be split"
expect_exit 2 post "$TMP/c" --to "$URL" --max-bundle-bytes 10
expect_stderr "--max-bundle-bytes wants at least 1024"
ok "an Encounter-Condition cycle over the cap, split conditional create and a tiny byte cap are refused clearly"
stop_server

# 6. --gzip: every POST arrives with Content-Encoding: gzip, the server decompresses it, counts exact,
#    and the bytes on the wire are far fewer; also combined with splitting.
start_server --log "$TMP/req.log"
fresh g
: >"$TMP/req.log"
expect_exit 0 post "$TMP/g" --to "$URL" --gzip -q
same_counts "$TMP/g" "gzip"
python3 - "$TMP/req.log" "$TMP"/pristine/record-*.json <<'PY' || fail "gzip was not what the server saw"
import json, os, sys
L = [json.loads(l) for l in open(sys.argv[1]) if '"method":"POST"' in l]
assert len(L) == 120 and all(x["encoding"] == "gzip" for x in L), L[:2]
raw = sum(os.path.getsize(f) for f in sys.argv[2:]); wire = sum(x["bytes"] for x in L)
assert wire * 3 < raw, (wire, raw)
print(f"gzip: {wire} bytes on the wire for {raw} bytes of bundles")
PY
grep -q '"method":"GET","path":"/metadata".*"encoding":null' "$TMP/req.log" || fail "the pre-flight GET was compressed"
ctl reset
fresh g2
: >"$TMP/req.log"
expect_exit 0 post "$TMP/g2" --to "$URL" --gzip --max-bundle-entries 6 -q
same_counts "$TMP/g2" "gzip + split"
[ "$(grep -c '"method":"POST".*"encoding":"gzip"' "$TMP/req.log")" -gt 120 ] || fail "split gzip requests"
ok "--gzip: the server saw gzip bodies (at most a third of the bytes), counts exact, also split"
echo "$checks checks passed"
