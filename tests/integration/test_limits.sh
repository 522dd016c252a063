# test_limits.sh - the named input limits of docs/limits.md crossed through the CLI: each refusal names its
# limit and the file or reply, with the input exit status (3) or the backend / upload one (4 / 6).
# Big inputs are sparse files (truncate), so crossing a 64 or 256 MiB limit writes nothing to disk.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
start_server() {
    : >"$TMP/port"
    python3 "$ROOT/tests/servers/fake_openai.py" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "fake server did not start: $(cat "$TMP/server.log")"
    BASE="http://127.0.0.1:$PORT"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap 'stop_server; rm -rf "$TMP"' EXIT
# nest N OPEN CLOSE: N opening then N closing strings.
nest() { python3 -c 'import sys; n = int(sys.argv[1]); print(sys.argv[2] * n + sys.argv[3] * n)' "$@"; }
gen() { "$BIN" --out "$TMP/o" -n 1 -q --force "$@"; }

# Prior: size (PRIOR_MAX_BYTES, 64 MiB) and nesting (PRIOR_MAX_DEPTH, 32), each with its own error.
truncate -s 65M "$TMP/big-prior.json"
expect_exit 3 gen --prior "$TMP/big-prior.json"
expect_stderr "big-prior.json: larger than PRIOR_MAX_BYTES (64 MiB)"
printf '{"x": %s}\n' "$(nest 40 '[' ']')" >"$TMP/deep-prior.json"
expect_exit 3 gen --prior "$TMP/deep-prior.json"
expect_stderr "nested deeper than PRIOR_MAX_DEPTH (32 levels) near byte"
printf '{"x": %s}\n' "$(nest 31 '[' ']')" >"$TMP/ok-depth.json"
expect_exit 3 gen --prior "$TMP/ok-depth.json"
grep -q "nested deeper" "$TMP/stderr" && fail "a prior 32 levels deep was refused for its depth"
ok "prior: 65 MiB and 41 levels refused, each naming its limit; 32 levels pass the depth check"

# Model replies: size (HTTP_MAX_RESPONSE, 8 MiB) and nesting (LIMIT_JSON_DEPTH, 64).
start_server --mode huge
expect_exit 4 gen --llm openai --llm-url "$BASE/v1" --model m --no-cache --max-retries 0
expect_stderr "is larger than the 8388608-byte cap"
stop_server
mkdir "$TMP/shapes"
printf '{"fixtures": [%s, %s]}' '{"name": "deep", "file": "deep.json", "status": 200}' \
    '{"name": "ok", "file": "ok.json", "status": 200}' >"$TMP/shapes/index.json"
printf '{"choices": [{"message": {"role": "assistant", "content": "x"}, "extra": %s}]}' "$(nest 70 '[' ']')" \
    >"$TMP/shapes/deep.json"
printf '{"choices": [{"message": {"role": "assistant", "content": "x"}, "extra": %s}]}' "$(nest 60 '[' ']')" \
    >"$TMP/shapes/ok.json"
start_server --shapes "$TMP/shapes"
expect_exit 4 gen --llm openai --llm-url "$BASE/v1" --model deep --no-cache --max-retries 0
expect_stderr "model reply from $BASE/v1/chat/completions nests deeper than LIMIT_JSON_DEPTH (64 levels) at byte"
gen --llm openai --llm-url "$BASE/v1" --model ok --no-cache --max-retries 0 >"$TMP/stdout" 2>"$TMP/stderr" || true
[ -s "$TMP/o/run-report.txt" ] || fail "the 63-level run did not run"
grep -q "nests deeper" "$TMP/stderr" "$TMP/o/run-report.txt" && fail "a reply 63 levels deep was refused for its depth"
stop_server
ok "model reply: 9 MiB and 73 levels refused, each naming its limit; 63 levels pass the depth check"

# Bundle files: validate (FHIR_CHECK_MAX_FILE 64 MiB, LIMIT_JSON_DEPTH) and post (MAX_BUNDLE_BYTES 256 MiB).
truncate -s 65M "$TMP/big.json"
expect_exit 5 "$BIN" validate "$TMP/big.json"
expect_stderr "big.json' is larger than FHIR_CHECK_MAX_FILE (64 MiB)"
"$BIN" -n 1 --out "$TMP/b" -q --seed 1 >/dev/null 2>&1 || fail "generate 1"
python3 - "$TMP/b/record-0000000000.json" "$TMP/deep.json" <<'PY' || fail "cannot write the deep bundle"
import json, sys
b = json.load(open(sys.argv[1]))
v = []
for _ in range(70):
    v = [v]
b["entry"][0]["resource"]["extension"] = [{"url": "http://example.org/x", "valueString": "x", "_deep": v}]
json.dump(b, open(sys.argv[2], "w"))
PY
expect_exit 5 "$BIN" validate "$TMP/deep.json"
expect_stderr "nested deeper than LIMIT_JSON_DEPTH (64 levels)"
mkdir "$TMP/post"
truncate -s 257M "$TMP/post/record-0000000000.json"
expect_exit 6 "$BIN" post "$TMP/post" --to http://127.0.0.1:9 --no-preflight --retries 0 -q
grep -q "bundle exceeds MAX_BUNDLE_BYTES (256 MiB)" "$TMP/post/post-journal.ndjson" "$TMP/stderr" ||
    { cat "$TMP/stderr" >&2; fail "post: the 257 MiB bundle was not refused by name"; }
ok "bundles: validate refuses 65 MiB and over 70 levels, post refuses 257 MiB, each naming its limit"

# Prompt templates (PROMPT_MAX_FILE, 256 KiB) and the knowledge base (KB_MAX_FILE_BYTES, 16 MiB).
cp -r "$ROOT/prompts" "$TMP/prompts"
head -c 300000 /dev/zero | tr '\0' 'x' >>"$TMP/prompts/demographics.prompt"
expect_exit 3 gen --prompts "$TMP/prompts"
expect_stderr "demographics.prompt: file is over the 262144-byte limit"
truncate -s 17M "$TMP/big-kb.json"
expect_exit 3 gen --knowledge "$TMP/big-kb.json"
expect_stderr "big-kb.json: larger than 16777216 bytes"
ok "prompt template over 256 KiB and knowledge file over 16 MiB refused by name"
echo "$checks checks passed"
