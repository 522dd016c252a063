# test_post_smart.sh - SMART Backend Services against the test server's token endpoint (node:crypto verifies
# the RS384/ES384 client assertion against a JWKS this test writes): accepted, cached, refreshed, refused.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"
command -v openssl >/dev/null || fail "openssl is not installed"

K="$TMP/keys"
mkdir "$K"
{ openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" &&
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$K/ec.pem" &&
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/wrong.pem" &&
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/p256.pem"; } >"$TMP/openssl.log" 2>&1 ||
    fail "openssl: $(tail -3 "$TMP/openssl.log")"
# The client's registered JWKS: the public halves of rsa.pem (kid rsa-1) and ec.pem (kid ec-1).
node -e '
const crypto = require("node:crypto"), fs = require("node:fs");
const jwk = (f, kid, alg) => ({ ...crypto.createPublicKey(fs.readFileSync(f)).export({ format: "jwk" }), kid, alg, use: "sig" });
fs.writeFileSync(process.argv[2], JSON.stringify({ keys: [jwk(process.argv[1] + "/rsa.pem", "rsa-1", "RS384"),
  jwk(process.argv[1] + "/ec.pem", "ec-1", "ES384")] }));' "$K" "$K/jwks.json" || fail "cannot write the JWKS"
grep -q '"d"' "$K/jwks.json" && fail "the JWKS holds a private key"

"$BIN" -n 40 --out "$TMP/b" --seed 3 -q >/dev/null 2>&1 || fail "generate 40"
cp -r "$TMP/b" "$TMP/pristine"
fresh() { rm -rf "$TMP/$1"; cp -r "$TMP/pristine" "$TMP/$1"; }
post() { "$BIN" post "$@"; }
CLIENT=llmsyn-test-client
smart() { echo --smart-client-id "$CLIENT" --smart-key "$K/$1.pem" --smart-kid "$2"; }
: >"$TMP/all.out"
keep() { cat "$TMP/stdout" "$TMP/stderr" >>"$TMP/all.out"; }

start_server --smart-jwks "$K/jwks.json" --smart-client-id "$CLIENT"

# 1. Without a token the FHIR endpoints refuse.
fresh n
expect_exit 6 post "$TMP/n" --to "$URL" -q
expect_stderr "refused the credentials (HTTP 401)"
ok "no token: HTTP 401, exit 6"

# 2. RS384: accepted; one token for the pre-flight and all 40 bundles (cached).
fresh r
# shellcheck disable=SC2046
expect_exit 0 post "$TMP/r" --to "$URL" $(smart rsa rsa-1) --concurrency 4
keep
expect_stderr "posted 40 of 40 bundles"
same_counts "$TMP/r" "RS384"
[ "$(stat tokensIssued)" -eq 1 ] || fail "RS384: $(stat tokensIssued) tokens issued, expected 1 (cached)"
ok "RS384 assertion accepted; 40 bundles stored with one cached token"

# 3. ES384: accepted.
ctl reset
fresh e
# shellcheck disable=SC2046
expect_exit 0 post "$TMP/e" --to "$URL" $(smart ec ec-1) --smart-scope "system/*.write"
keep
same_counts "$TMP/e" "ES384"
[ "$(stat tokensIssued)" -eq 2 ] || fail "ES384: no token issued"
ok "ES384 assertion accepted; 40 bundles stored"

# 4. A wrong key (not the one registered under rsa-1), and an unknown kid: refused clearly, exit 6, nothing stored.
ctl reset
fresh w
# shellcheck disable=SC2046
expect_exit 6 post "$TMP/w" --to "$URL" $(smart wrong rsa-1)
keep
expect_stderr "refused the client assertion (HTTP 401: invalid_client: signature does not verify)"
expect_stderr "--smart-key matches the registered public key"
# shellcheck disable=SC2046
expect_exit 6 post "$TMP/w" --to "$URL" $(smart ec no-such-kid) --no-preflight
keep
expect_stderr "invalid_client: no key with kid no-such-kid"
[ "$(stat counts.Patient)" -eq 0 ] || fail "a bundle was stored without a valid token"
[ "$(stat tokensRefused)" -ge 2 ] || fail "the server did not refuse the assertions"
# shellcheck disable=SC2046
expect_exit 2 post "$TMP/w" --to "$URL" $(smart p256 ec-1)
expect_stderr "not an RSA or EC P-384 private key"
expect_exit 2 post "$TMP/w" --to "$URL" --smart-client-id "$CLIENT" --smart-key "$K/rsa.pem"
expect_stderr "needs --smart-client-id, --smart-key and --smart-kid"
ok "a wrong key or kid is refused by the token endpoint with a clear message (exit 6); a P-256 key is a usage error"
stop_server

# 5. Refresh before expiry: tokens live 2 s and three replies take 1.5 s each, so the run needs fresh
#    tokens; no request may go out with an expired one (the server would answer 401).
start_server --smart-jwks "$K/jwks.json" --smart-client-id "$CLIENT" --smart-token-ttl 2 --fault slow:3:1500
mkdir "$TMP/t" && cp "$TMP/pristine"/record-000000000[0-5].json "$TMP/t/"
# shellcheck disable=SC2046
expect_exit 0 post "$TMP/t" --to "$URL" $(smart rsa rsa-1) --concurrency 1
keep
same_counts "$TMP/t" "token refresh"
[ "$(stat tokensIssued)" -ge 2 ] || fail "the token was not refreshed ($(stat tokensIssued) issued)"
[ "$(stat 'byStatus.401')" -eq 0 ] || fail "a request went out with an expired token"
ok "the token is refreshed before it expires ($(stat tokensIssued) tokens over the run, no 401)"

# 6. Neither the key nor any issued token appears in any output, journal line or file of the folders.
stats | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["issuedTokens"]))' >"$TMP/tokens"
[ -s "$TMP/tokens" ] || fail "no issued tokens to look for"
for f in rsa ec wrong; do sed -n 2p "$K/$f.pem"; done >>"$TMP/tokens"
while read -r s; do
    grep -rqF -- "$s" "$TMP/all.out" "$TMP/r" "$TMP/e" "$TMP/w" "$TMP/t" && fail "a key or token leaked"
done <"$TMP/tokens"
ok "no key material or access token in stdout, stderr, journals or folders"
echo "$checks checks passed"
