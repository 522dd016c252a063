# test_post_generate.sh - `generate --post URL`: bundles are posted while they are generated, through the
# post command's machinery (journal, summary, exit status), against the project's FHIR R4 test server.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"

TOKEN="tok-SECRET-5c27e0"
start_server --bearer "$TOKEN"
posts() { stat posts; }

# 1. 300 records posted while generated: server counts equal the bundles, a journal "ok" line per bundle.
expect_exit 0 "$BIN" -n 300 --seed 5 -j 2 --out "$TMP/g" --post "$URL" --bearer "$TOKEN" --post-concurrency 4
n=$(ls "$TMP/g"/record-*.json | wc -l)
[ "$n" -eq 300 ] || fail "generate --post wrote $n bundles, not 300"
same_counts "$TMP/g" "generate --post"
[ "$(grep -c '"outcome":"ok"' "$TMP/g/post-journal.ndjson")" -eq 300 ] || fail "journal lacks 300 ok lines"
for f in "$TMP/g"/record-*.json; do
    grep -qF "\"file\":\"$(basename "$f")\"" "$TMP/g/post-journal.ndjson" || fail "journal lacks $(basename "$f")"
done
expect_stderr "posted 300 of 300 bundles"
expect_stderr "posted 300 bundles, 0 not posted"
! grep -rqF "$TOKEN" "$TMP/g" "$TMP/stderr" "$TMP/stdout" || fail "the token leaked"
ok "generate -n 300 --post: server counts equal the generated bundles; journal has every bundle ok"

# 2. The post command over the same folder sends nothing: the journal already names every bundle.
before=$(posts)
expect_exit 0 "$BIN" post "$TMP/g" --to "$URL" --bearer "$TOKEN"
[ "$(posts)" = "$before" ] || fail "post after generate --post sent $(( $(posts) - before )) bundles"
expect_stderr "300 already posted"
ok "a rerun of post over the folder sends nothing"

# 3. The same bytes as generation without --post (posting does not change the output).
expect_exit 0 "$BIN" -n 300 --seed 5 -j 2 --out "$TMP/plain" -q
diff -r -x "run-report.*" -x post-journal.ndjson "$TMP/g" "$TMP/plain" >/dev/null ||
    fail "generate --post wrote other records than generate"
ok "generate --post writes the same records as generate"

# 4. Refused credentials: exit 6 before a record is made (the pre-flight runs first).
expect_exit 6 "$BIN" -n 20 --seed 5 --out "$TMP/bad" --post "$URL" --bearer wrong-token-xyz
[ -z "$(ls "$TMP/bad"/record-*.json 2>/dev/null)" ] || fail "records were generated although the server refused"
ok "refused credentials stop generate --post before generating (exit 6)"

# 5. Bundles the server fails count as failures: exit 6 after generation completes, journal says failed.
ctl fault '{"faults":["500:1000"]}'
expect_exit 6 "$BIN" -n 10 --seed 9 --out "$TMP/f" --post "$URL" --bearer "$TOKEN" --post-retries 0
[ "$(ls "$TMP/f"/record-*.json | wc -l)" -eq 10 ] || fail "generation did not complete when posting failed"
[ "$(grep -c '"outcome":"failed"' "$TMP/f/post-journal.ndjson")" -eq 10 ] || fail "journal lacks 10 failed lines"
expect_stderr "posted 0 bundles, 10 not posted"
ctl fault '{"faults":[]}'
expect_exit 0 "$BIN" post "$TMP/f" --to "$URL" --bearer "$TOKEN"
expect_stderr "posted 10 of 10 bundles"
ok "server failures: generation completes, exit 6, journal failed; post resumes them"

# 6. Usage errors (exit 2): other formats, server flags without --post.
expect_exit 2 "$BIN" -n 5 --out "$TMP/nd" --format ndjson --post "$URL"
expect_stderr "--post needs --format bundles"
[ ! -e "$TMP/nd" ] || fail "--format ndjson --post wrote output"
expect_exit 2 "$BIN" -n 5 --out "$TMP/nd" --bearer "$TOKEN"
expect_stderr "need --post URL"
expect_exit 2 "$BIN" -n 5 --out "$TMP/nd" --post "$URL" --post-concurrency 0
ok "--format ndjson --post and server flags without --post are refused (exit 2)"
echo "test_post_generate: $checks checks passed"
