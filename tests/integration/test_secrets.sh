# test_secrets.sh - every model backend and every post auth scheme run with recognisable secret values, on
# success and on error paths (wrong key, a server that echoes the credentials back in its error body, 5xx,
# a bad URL carrying a password); no secret may appear in any output folder file (hidden ones too), journal,
# answer cache, run report, stdout or stderr. The other tests check single schemes; this one checks them all.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"
command -v openssl >/dev/null || fail "openssl is not installed"

SCAN="$TMP/scan" # everything the program wrote: output folders, cache, logs of stdout and stderr
mkdir -p "$SCAN/logs" "$TMP/srv"
export XDG_CACHE_HOME="$SCAN/xdg-cache"
unset LLMSYN_API_KEY OPENAI_API_KEY AZURE_OPENAI_API_KEY ANTHROPIC_API_KEY LLMSYN_FHIR_TOKEN
runs=0
# run STATUS NAME CMD...: expect_exit, then keeps stdout and stderr in the scanned logs.
run() {
    local want=$1 name=$2
    shift 2
    expect_exit "$want" "$@"
    cp "$TMP/stdout" "$SCAN/logs/$name.stdout"
    cp "$TMP/stderr" "$SCAN/logs/$name.stderr"
    runs=$((runs + 1))
}

# ---- model backends against tests/servers/fake_openai.py --echo-auth ----
LLM_PID=""
llm_start() {
    : >"$TMP/srv/llm.port"
    python3 "$ROOT/tests/servers/fake_openai.py" "$@" >"$TMP/srv/llm.port" 2>"$TMP/srv/llm.log" &
    LLM_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/srv/llm.port" ] && break; sleep 0.05; done
    LLM_BASE="http://127.0.0.1:$(head -1 "$TMP/srv/llm.port")"
    [ "$LLM_BASE" != "http://127.0.0.1:" ] || fail "fake model server did not start: $(cat "$TMP/srv/llm.log")"
}
llm_stop() { [ -n "$LLM_PID" ] && kill "$LLM_PID" 2>/dev/null && wait "$LLM_PID" 2>/dev/null; LLM_PID=""; }
trap 'llm_stop; stop_server; rm -rf "$TMP"' EXIT

URL_PW="urlpw-SECRET-1f2e"
SECRETS="$URL_PW"
# backend NAME KEYVAR KEY URLPATH: one server requiring KEY; its first two completions fail with 500 and a
# body echoing the credentials; then a failed run (retried once), a good run (cache on), a wrong key, a bad URL.
backend() {
    local name=$1 var=$2 key=$3 path=$4 wrong="sk-wrong-SECRET-$1" extra=""
    SECRETS="$SECRETS $key $wrong"
    [ "$name" = azure ] && extra="--api-version 2024-10-21"
    # shellcheck disable=SC2086
    llm_start --require-key "$key" --echo-auth --fail-first 2 --fail-status 500 $extra
    local gen="$BIN --llm $name --llm-url $LLM_BASE$path --model m-$name --seed 3 --retry-base 0.05"
    # shellcheck disable=SC2086
    run 4 "$name-5xx" env "$var=$key" $gen --out "$SCAN/$name-5xx" -n 1 --max-retries 1
    grep -q "request had" "$TMP/stderr" || fail "$name: the echoing 500 body was not quoted (test is vacuous)"
    # shellcheck disable=SC2086
    run 0 "$name-ok" env "$var=$key" $gen --out "$SCAN/$name-ok" -n 2
    [ -n "$(ls -A "$XDG_CACHE_HOME" 2>/dev/null)" ] || fail "$name: nothing was cached, the cache is not checked"
    # shellcheck disable=SC2086
    run 4 "$name-401" env "$var=$wrong" $gen --out "$SCAN/$name-401" -n 1 --no-cache
    expect_stderr "HTTP 401"
    # shellcheck disable=SC2086
    run 4 "$name-badurl" env "$var=$key" $gen --out "$SCAN/$name-badurl" -n 1 --no-cache --max-retries 0 \
        --llm-url "http://alice:$URL_PW@127.0.0.1:9$path"
    llm_stop
}
backend openai LLMSYN_API_KEY sk-openai-SECRET-1a2b /v1
backend azure AZURE_OPENAI_API_KEY az-key-SECRET-3c4d ""
backend anthropic ANTHROPIC_API_KEY sk-ant-SECRET-5e6f ""
backend ollama LLMSYN_API_KEY ol-proxy-SECRET-7a8b "" # Ollama behind an authenticating proxy: bearer
ok "openai, azure, anthropic, ollama: 5xx echoing the key, success with cache, wrong key (401), bad URL"

# ---- post auth schemes against the FHIR test server --echo-auth and its echo-auth fault ----
"$BIN" -n 6 --out "$TMP/pristine" --seed 9 -q >/dev/null 2>&1 || fail "generate 6"
fresh() { rm -rf "${SCAN:?}/$1"; cp -r "$TMP/pristine" "$SCAN/$1"; }
BEARER="tok-SECRET-bearer-2b3c" ENVTOK="tok-SECRET-env-4d5e" HDR="hdr-SECRET-8b9c"
BASIC="pw-SECRET-basic-6f7a" BASIC_WRONG="pw-SECRET-wrong-0a1b"
SECRETS="$SECRETS $BEARER $ENVTOK $HDR $BASIC $BASIC_WRONG wrong-SECRET-bearer-3d4e smt-SECRET-"
SECRETS="$SECRETS $(printf 'alice:%s' "$BASIC" | base64) $(printf 'alice:%s' "$BASIC_WRONG" | base64)"
# echoed DIR: the echoing 400 was answered and journaled (so the scan below is not vacuous).
echoed() { grep -q "rejected request with headers" "$SCAN/$1/post-journal.ndjson" || fail "$1: no echoed reply"; }

start_server --bearer "$BEARER" --require-header "X-Api-Key: $HDR" --echo-auth --fault echo-auth:1
fresh bearer
run 6 bearer "$BIN" post "$SCAN/bearer" --to "$URL" --bearer "$BEARER" -H "X-Api-Key: $HDR"
echoed bearer
[ "$(stat counts.Patient)" -eq 5 ] || fail "bearer: the 5 other bundles were not stored"
fresh bearer401
run 6 bearer401 "$BIN" post "$SCAN/bearer401" --to "$URL" --bearer wrong-SECRET-bearer-3d4e -H "X-Api-Key: $HDR"
expect_stderr "HTTP 401"
stop_server
start_server --bearer "$ENVTOK" --echo-auth --fault echo-auth:1
fresh env
LLMSYN_FHIR_TOKEN=$ENVTOK run 6 env "$BIN" post "$SCAN/env" --to "$URL"
echoed env
stop_server
start_server --basic "alice:$BASIC" --echo-auth --fault echo-auth:1
fresh basic
run 6 basic "$BIN" post "$SCAN/basic" --to "$URL" --basic "alice:$BASIC"
echoed basic
fresh basic401
run 6 basic401 "$BIN" post "$SCAN/basic401" --to "$URL" --basic "alice:$BASIC_WRONG" --no-preflight
stop_server
fresh badurl
run 6 badurl "$BIN" post "$SCAN/badurl" --to "http://alice:$URL_PW@127.0.0.1:9/fhir" --bearer "$BEARER" \
    -H "X-Api-Key: $HDR" --retries 0
ok "--bearer, LLMSYN_FHIR_TOKEN, --basic, -H: echoed in a 400 and a 401, wrong values, a bad URL with a password"

# SMART Backend Services: an RSA key registered in a JWKS; issued tokens start with smt-SECRET-.
K="$TMP/keys"
mkdir "$K"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" >"$TMP/openssl.log" 2>&1 ||
    fail "openssl: $(tail -3 "$TMP/openssl.log")"
node -e '
const crypto = require("node:crypto"), fs = require("node:fs");
const jwk = { ...crypto.createPublicKey(fs.readFileSync(process.argv[1])).export({ format: "jwk" }), kid: "rsa-1",
  alg: "RS384", use: "sig" };
fs.writeFileSync(process.argv[2], JSON.stringify({ keys: [jwk] }));' "$K/rsa.pem" "$K/jwks.json" ||
    fail "cannot write the JWKS"
SECRETS="$SECRETS $(sed -n 2p "$K/rsa.pem") $(sed -n 10p "$K/rsa.pem")"
start_server --smart-jwks "$K/jwks.json" --smart-client-id cid --smart-token-prefix smt-SECRET- --echo-auth \
    --fault echo-auth:1
fresh smart
run 6 smart "$BIN" post "$SCAN/smart" --to "$URL" --smart-client-id cid --smart-key "$K/rsa.pem" --smart-kid rsa-1
echoed smart
[ "$(stat tokensIssued)" -ge 1 ] || fail "smart: no token was issued"
stats | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["issuedTokens"]))' >"$TMP/tokens"
SECRETS="$SECRETS $(cat "$TMP/tokens")"
stop_server
ok "SMART backend services: the key and the issued token echoed in a 400"

# ---- the scan: every file the program wrote, hidden ones included, and every stdout and stderr ----
[ -n "$(find "$SCAN" -name 'run-report.*' -print -quit)" ] || fail "no run report to scan"
[ -n "$(find "$SCAN" -name 'post-journal.ndjson' -print -quit)" ] || fail "no post journal to scan"
[ -n "$(find "$SCAN" -name '.*' -print -quit)" ] || fail "no hidden file to scan (generate's run journal)"
nsecrets=0
for s in $SECRETS; do
    nsecrets=$((nsecrets + 1))
    if grep -rlaF -- "$s" "$SCAN" >"$TMP/hits"; then
        grep -rahF -- "$s" "$SCAN" 2>/dev/null | cut -c1-600 | head -3 >&2
        fail "secret '$s' appears in: $(tr '\n' ' ' <"$TMP/hits")"
    fi
done
[ "$nsecrets" -ge 20 ] || fail "only $nsecrets secrets checked"
nfiles=$(find "$SCAN" -type f | wc -l)
ok "$nsecrets secret values over $runs runs: none in $nfiles files (outputs, journals, cache, reports, logs)"
echo "$checks checks passed"
