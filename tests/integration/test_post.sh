# test_post.sh - `llmsyn-fhir post` against the project's FHIR R4 test server (Medplum fhir-router, Node).
. "$(dirname "$0")/lib.sh"

SRV="$ROOT/tests/servers/fhir"
command -v node >/dev/null || fail "node is not installed (tools/install-deps.sh installs nodejs and npm)"
if [ ! -d "$SRV/node_modules/@medplum/fhir-router" ]; then
    (cd "$SRV" && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 ||
        fail "npm ci in tests/servers/fhir failed: $(tail -5 "$TMP/npm.log")"
fi

TOKEN="tok-SECRET-9f3a61"
SERVER_PID=""
start_server() {
    node "$SRV/server.mjs" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "FHIR test server did not start: $(cat "$TMP/server.log")"
    URL="http://127.0.0.1:$PORT"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; : >"$TMP/port"; }
trap 'stop_server; rm -rf "$TMP"' EXIT
ctl() { curl -sf -X POST -H 'Content-Type: application/json' --data "${2:-{\}}" "$URL/__test/$1" >/dev/null || fail "control $1"; }
stats() { curl -sf "$URL/__test/stats"; }
# count TYPE: the server's own answer to a FHIR search with _summary=count.
count() { curl -sf -H "Authorization: Bearer $TOKEN" "$URL/$1?_summary=count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
# same_counts DIR: Patients, Encounters, Conditions, Procedures on the server equal those in DIR's bundles.
same_counts() {
    local t want got
    for t in Patient Encounter Condition Procedure; do
        want=$(grep -o "\"resourceType\":\"$t\"" "$1"/record-*.json | wc -l)
        got=$(count "$t")
        [ "$want" -gt 0 ] && [ "$got" = "$want" ] || fail "$t: server holds $got, the bundles hold $want ($2)"
    done
}
post() { "$BIN" post "$@"; }
no_secret() { ! grep -rqF "$TOKEN" "$@" || fail "the token leaked into $*"; }

start_server --bearer "$TOKEN"
"$BIN" -n 1000 --out "$TMP/b" --seed 11 -q >/dev/null 2>&1 || fail "generate 1000"
cp -r "$TMP/b" "$TMP/pristine"

# 1. 1,000 bundles, concurrency 8; counts equal what was generated; a journal line per bundle.
LLMSYN_FHIR_TOKEN=$TOKEN expect_exit 0 post "$TMP/b" --to "$URL" --concurrency 8
same_counts "$TMP/b" "first post"
[ "$(grep -c '"outcome":"ok"' "$TMP/b/post-journal.ndjson")" -eq 1000 ] || fail "journal lacks 1000 ok lines"
expect_stderr "posted 1000 of 1000 bundles"
no_secret "$TMP/b" "$TMP/stderr" "$TMP/stdout"
ok "1000 bundles posted; server counts equal the generated ones; journal complete; token never written"

# 2. The same command again sends nothing; with the journal gone it updates, creating no duplicates.
before=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["posts"])')
expect_exit 0 post "$TMP/b" --to "$URL" --bearer "$TOKEN" -q
after=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["posts"])')
[ "$before" = "$after" ] || fail "a rerun with a complete journal sent $((after - before)) bundles"
rm "$TMP/b/post-journal.ndjson"
expect_exit 0 post "$TMP/b" --to "$URL" --bearer "$TOKEN" --concurrency 8
grep -qE "posted 1000 of 1000 .*: 0 entries created, [1-9][0-9]* updated" "$TMP/stderr" ||
    fail "second post created entries or updated none: $(tail -1 "$TMP/stderr")"
same_counts "$TMP/b" "second post"
ok "rerun with the journal sends nothing; second post without it updates, no duplicates"

# 3. Faults: 429 with Retry-After, 500, 503, resets before and after commit, a slow reply past the
#    timeout, a transaction-response with a failed entry. Nothing lost, nothing duplicated.
ctl reset
ctl fault '{"faults":["429:4:1","503:4","500:2","reset:3","reset-after:3","entry-fail:2","slow:2:2500"]}'
cp -r "$TMP/pristine" "$TMP/f"
expect_exit 0 post "$TMP/f" --to "$URL" --bearer "$TOKEN" --concurrency 6 --timeout 1
same_counts "$TMP/f" "faults"
stats | python3 -c '
import json,sys; s=json.load(sys.stdin)
assert s["faultsLeft"] == 0 and s["faultsServed"] == 20, s
assert s["counts"]["Patient"] == 1000, s' || fail "faults not all served"
grep -q "retrying in" "$TMP/stderr" || fail "no retry was reported"
grep -qE "429" "$TMP/stderr" && grep -qE "timed out" "$TMP/stderr" && grep -q "503" "$TMP/stderr" ||
    fail "the retry messages do not name 429, 503 and the timeout"
[ "$(grep -c '"outcome":"ok"' "$TMP/f/post-journal.ndjson")" -eq 1000 ] || fail "journal after faults"
ok "429/500/503/reset/reset-after-commit/timeout/entry-failure survived; counts exact"

# 4. kill -9 mid-upload, then the same command resumes exactly.
ctl reset
cp -r "$TMP/pristine" "$TMP/k"
"$BIN" post "$TMP/k" --to "$URL" --bearer "$TOKEN" --concurrency 4 -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 400); do
    [ -f "$TMP/k/post-journal.ndjson" ] && [ "$(wc -l <"$TMP/k/post-journal.ndjson")" -ge 300 ] && break; sleep 0.02
done
kill -9 "$pid"; wait "$pid" 2>/dev/null
done_before=$(grep -c '"outcome":"ok"' "$TMP/k/post-journal.ndjson")
[ "$done_before" -ge 300 ] && [ "$done_before" -lt 1000 ] || fail "kill -9 landed at $done_before bundles"
expect_exit 0 post "$TMP/k" --to "$URL" --bearer "$TOKEN" --concurrency 4
expect_stderr "$done_before already posted"
same_counts "$TMP/k" "after kill -9 and resume"
stats | python3 -c '
import json,sys; s=json.load(sys.stdin)
assert s["posts"] <= 1000 + 4, s                  # only bundles in flight at the kill were sent twice
assert s["updatedTwice"] <= 4 * 40, s' || fail "resume re-sent bundles that had succeeded"
[ "$(grep -o '"file":"[^"]*","hash":"[^"]*","target":"[^"]*","outcome":"ok"' "$TMP/k/post-journal.ndjson" | sort -u | wc -l)" -eq 1000 ] ||
    fail "journal does not hold each bundle once"
ok "kill -9 after $done_before bundles; resume sent the rest; counts exact"

# 5. A wrong token: refused with a clear message, exit 6, the token never echoed.
expect_exit 6 post "$TMP/pristine" --to "$URL" --bearer "wrong-SECRET-token" -q
expect_stderr "refused the credentials (HTTP 401)"
grep -qF "wrong-SECRET-token" "$TMP/stderr" && fail "the wrong token was echoed"
expect_exit 6 post "$TMP/pristine" --to "$URL" --bearer "wrong-SECRET-token" --no-preflight -q
expect_stderr "refused the credentials (HTTP 401)"
rm -f "$TMP/pristine/post-journal.ndjson"
ok "wrong bearer token: exit 6 naming HTTP 401, with and without pre-flight"

# 6. A bundle the server rejects (400 + OperationOutcome): reported with the issue, not retried.
ctl reset
mkdir "$TMP/bad" && cp "$TMP/pristine"/record-00000000[0-4]*.json "$TMP/bad/"
python3 - "$TMP/bad/record-0000000003.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["entry"][0]["resource"]["bogusField"] = 1
json.dump(b, open(sys.argv[1], "w"))
PY
expect_exit 6 post "$TMP/bad" --to "$URL" --bearer "$TOKEN"
expect_stderr "record-0000000003.json: HTTP 400: error structure: Invalid additional property"
grep -q '"file":"record-0000000003.json".*"outcome":"failed".*"attempts":1' "$TMP/bad/post-journal.ndjson" ||
    fail "the refused bundle was retried or not journaled"
[ "$(count Patient)" -eq 49 ] || fail "the other 49 bundles were not stored"
ok "400 with OperationOutcome: reported with severity/code/text/expression, not retried, others stored"

# 7. Batch bundles, and conditional create (--request post): twice each, no duplicates.
ctl reset
mkdir "$TMP/s" && cp "$TMP/pristine"/record-000000000*.json "$TMP/pristine"/record-00000001*.json "$TMP/s/"
expect_exit 0 post "$TMP/s" --to "$URL" --bearer "$TOKEN" --bundle-type batch
same_counts "$TMP/s" "batch"
ctl reset
# (Medplum's in-memory search behind ifNoneExist is slow, so 4 bundles here.)
mkdir "$TMP/c" && cp "$TMP/pristine"/record-000000000[0-3].json "$TMP/c/"
expect_exit 0 post "$TMP/c" --to "$URL" --bearer "$TOKEN" --request post
rm "$TMP/c/post-journal.ndjson"
expect_exit 0 post "$TMP/c" --to "$URL" --bearer "$TOKEN" --request post
grep -qE "posted 4 of 4 .*: 0 entries created, [1-9][0-9]* updated" "$TMP/stderr" ||
    fail "conditional re-post created entries: $(tail -1 "$TMP/stderr")"
same_counts "$TMP/c" "conditional create twice"
ok "batch bundles stored; conditional create posted twice without duplicates"

# 8. Pre-flight: a URL that is no FHIR base, and an unreachable server, fail clearly with exit 6.
expect_exit 6 post "$TMP/s" --to "$URL/__test/nothing" --bearer "$TOKEN" -q
expect_stderr "/metadata"
expect_exit 6 post "$TMP/s" --to "http://127.0.0.1:9" -q
expect_stderr "cannot reach http://127.0.0.1:9/metadata"
expect_exit 2 post "$TMP/s" -q
expect_stderr "needs --to URL"
ok "pre-flight and usage errors are clear"
echo "$checks checks passed"
