# test_errors.sh - bad input gets a one-line error naming the culprit, a named exit status, no partial output.
. "$(dirname "$0")/lib.sh"

expect_exit 2 "$BIN" --out "$TMP/x" --jobs zero
expect_stderr "llmsyn-fhir: error: --jobs: 'zero' is not a whole number"
[ ! -e "$TMP/x" ] || fail "a bad flag created the output folder"
ok "bad flag value: exit 2, names the flag"

expect_exit 2 "$BIN" --out "$TMP/x" --no-such-flag
expect_stderr "unknown option '--no-such-flag'"
expect_exit 2 "$BIN" --out "$TMP/x" --shard 2/2
expect_exit 2 "$BIN" --out "$TMP/x" --steps +nonsense
expect_stderr "unknown step 'nonsense'"
expect_exit 2 "$BIN"
expect_stderr "--out DIR"
expect_exit 2 "$BIN" --out "$TMP/x" --llm openai
expect_stderr "--model"
[ ! -e "$TMP/x" ] || fail "a usage error created the output folder"
ok "unknown flag, bad shard, unknown step, missing --out, openai without --model: exit 2, nothing written"

printf '{"mortality": 0.1, "diagnoses": [{"code": "428.0", "weight": -1}]}' >"$TMP/bad-prior.json"
expect_exit 3 "$BIN" --out "$TMP/x" --prior "$TMP/bad-prior.json"
expect_stderr "bad-prior.json"
expect_stderr "weight"
[ "$(wc -l <"$TMP/stderr")" -eq 1 ] || fail "error is not one line"
[ ! -e "$TMP/x" ] || fail "a bad prior created the output folder"
printf '{"mortality": ' >"$TMP/trunc.json"
expect_exit 3 "$BIN" --out "$TMP/x" --prior "$TMP/trunc.json"
expect_stderr "trunc.json"
expect_exit 3 "$BIN" --out "$TMP/x" --prior "$TMP/missing.json"
expect_stderr "missing.json"
ok "bad, truncated and missing prior: exit 3, one line naming file and field, nothing written"

mkdir -p "$TMP/full" && echo keep >"$TMP/full/precious.txt"
expect_exit 7 "$BIN" --out "$TMP/full" -n 3
expect_stderr "not empty"
[ "$(ls "$TMP/full")" = "precious.txt" ] || fail "refused folder was touched"
expect_exit 0 "$BIN" --out "$TMP/full" -n 3 --force -q
[ -f "$TMP/full/precious.txt" ] || fail "--force removed a foreign file"
ok "non-empty folder refused (exit 7) unless --force"

touch "$TMP/afile"
expect_exit 7 "$BIN" --out "$TMP/afile/sub" -n 3
expect_stderr "afile/sub"
ok "unwritable output folder: exit 7 naming the folder"

mkdir "$TMP/prompts" && cp "$ROOT"/prompts/* "$TMP/prompts/"
sed -i 's/^\[Steps\]$/[Stepz]/' "$TMP/prompts/procedures.prompt"
expect_exit 3 "$BIN" --out "$TMP/x" --prompts "$TMP/prompts"
expect_stderr "procedures.prompt:"
[ ! -e "$TMP/x" ] || fail "a bad prompt created the output folder"
ok "malformed prompt: exit 3 naming file:line"
echo "$checks checks passed"
