# test_post_tls.sh - `llmsyn-fhir post` over HTTPS: CA verification, --insecure, mutual TLS, --basic, -H, secrets.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"
command -v openssl >/dev/null || fail "openssl is not installed"

# A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate signed by it.
P="$TMP/pki"
mkdir "$P"
mkcerts() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=llmsyn test CA" \
        -keyout "$P/ca.key" -out "$P/ca.pem" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$P/server.key" -out "$P/server.csr" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$P/server.ext" &&
    openssl x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
        -extfile "$P/server.ext" -out "$P/server.pem" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=llmsyn client" -keyout "$P/client.key" -out "$P/client.csr" &&
    openssl x509 -req -in "$P/client.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
        -out "$P/client.pem" &&
    # a second, unrelated CA: verification against it must fail
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout "$P/other.key" -out "$P/other.pem"
}
mkcerts >"$TMP/openssl.log" 2>&1 || fail "openssl: $(tail -3 "$TMP/openssl.log")"

"$BIN" -n 20 --out "$TMP/b" --seed 5 -q >/dev/null 2>&1 || fail "generate 20"
cp -r "$TMP/b" "$TMP/pristine"
fresh() { rm -rf "$TMP/$1"; cp -r "$TMP/pristine" "$TMP/$1"; }
post() { "$BIN" post "$@"; }

# 1. HTTPS with the server certificate: verification is on by default.
start_server --tls-cert "$P/server.pem" --tls-key "$P/server.key" --log "$TMP/req.log"
CURL_TLS="--cacert $P/ca.pem"
fresh a
expect_exit 6 post "$TMP/a" --to "$URL" -q
grep -qiE "certificate|SSL|TLS" "$TMP/stderr" || { cat "$TMP/stderr"; fail "no TLS error named without --cacert"; }
expect_stderr "cannot reach $URL/metadata"
expect_stderr "TLS verification failed: give the server's CA with --cacert FILE"
[ "$(stat posts)" -eq 0 ] || fail "a bundle was sent over an unverified connection"
expect_exit 6 post "$TMP/a" --to "$URL" --cacert "$P/other.pem" -q
grep -qiE "certificate|SSL|TLS" "$TMP/stderr" || fail "no TLS error with the wrong CA"
expect_exit 6 post "$TMP/a" --to "https://localhost:$PORT/wrong" --cacert "$P/ca.pem" --no-preflight -q
ok "without --cacert (or with another CA) the post fails with a TLS error, exit 6, nothing sent"

expect_exit 0 post "$TMP/a" --to "$URL" --cacert "$P/ca.pem"
expect_stderr "posted 20 of 20 bundles"
same_counts "$TMP/a" "https with --cacert"
grep -q '"tls":true' "$TMP/req.log" || fail "the server did not see TLS requests"
fresh i
expect_exit 0 post "$TMP/i" --to "$URL" --insecure -q
[ "$(grep -c '"outcome":"ok"' "$TMP/i/post-journal.ndjson")" -eq 20 ] || fail "--insecure journal"
ok "--cacert verifies and posts 20 bundles; --insecure posts without verification"
stop_server

# 2. Mutual TLS: the server requires a client certificate signed by the CA.
start_server --tls-cert "$P/server.pem" --tls-key "$P/server.key" --tls-client-ca "$P/ca.pem" --log "$TMP/req.log"
CURL_TLS="--cacert $P/ca.pem --cert $P/client.pem --key $P/client.key"
fresh m
expect_exit 6 post "$TMP/m" --to "$URL" --cacert "$P/ca.pem" -q
[ "$(stat posts)" -eq 0 ] || fail "the server accepted a request without a client certificate"
expect_exit 2 post "$TMP/m" --to "$URL" --cacert "$P/ca.pem" --cert "$P/client.pem" -q
expect_stderr "--cert and --key go together"
expect_exit 0 post "$TMP/m" --to "$URL" --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" -q
same_counts "$TMP/m" "mTLS"
grep -q '"clientCert":"llmsyn client"' "$TMP/req.log" || fail "the server did not see the client certificate"
ok "mTLS: refused without a client certificate; with --cert/--key all 20 stored"
stop_server

# 3. --basic and -H: the server checks both; a wrong value of either is refused (401, exit 6).
BASIC_PASS="pw-SECRET-basic-5c1e"
HDR_VALUE="hdr-SECRET-value-77ab"
start_server --basic "alice:$BASIC_PASS" --require-header "X-Api-Key: $HDR_VALUE" --log "$TMP/req.log"
CURL_TLS=""
fresh h
expect_exit 6 post "$TMP/h" --to "$URL" --basic "alice:$BASIC_PASS" -q
expect_stderr "refused the credentials (HTTP 401)"
expect_exit 6 post "$TMP/h" --to "$URL" --basic "alice:wrong-pass" -H "X-Api-Key: $HDR_VALUE" -q
expect_stderr "refused the credentials (HTTP 401)"
expect_exit 0 post "$TMP/h" --to "$URL" --basic "alice:$BASIC_PASS" -H "X-Api-Key: $HDR_VALUE" -H "X-Trace: t1"
same_counts "$TMP/h" "basic + header"
ok "--basic and -H are sent and checked by the server; a missing header or wrong password gives exit 6"
stop_server

# 4. Secrets: bearer, basic password, its base64 and a header value appear nowhere, even in failures.
BEARER="tok-SECRET-bearer-3a9f"
B64=$(printf 'alice:%s' "$BASIC_PASS" | base64)
start_server --bearer "$BEARER" --require-header "X-Api-Key: $HDR_VALUE" --fault 503:3 --log "$TMP/req.log"
fresh s
python3 - "$TMP/s/record-0000000002.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["entry"][0]["resource"]["bogusField"] = 1
json.dump(b, open(sys.argv[1], "w"))
PY
: >"$TMP/all.out"
run_secret() { expect_exit "$1" post "$TMP/s" "${@:2}"; cat "$TMP/stdout" "$TMP/stderr" >>"$TMP/all.out"; }
run_secret 6 --to "$URL" --bearer "$BEARER" -H "X-Api-Key: $HDR_VALUE" --retries 5
grep -q "retrying in" "$TMP/stderr" || fail "the 503s were not retried"
grep -q "record-0000000002.json: HTTP 400" "$TMP/stderr" || fail "the bad bundle was not reported"
run_secret 6 --to "$URL" --bearer "wrong-SECRET-bearer-0000" -H "X-Api-Key: $HDR_VALUE"
run_secret 6 --to "$URL" --basic "alice:$BASIC_PASS" -H "X-Api-Key: $HDR_VALUE" --no-preflight
run_secret 6 --to "http://127.0.0.1:9" --bearer "$BEARER" --basic "alice:$BASIC_PASS" -H "X-Api-Key: $HDR_VALUE"
LLMSYN_FHIR_TOKEN=$BEARER run_secret 6 --to "$URL" -H "X-Api-Key: $HDR_VALUE"
[ "$(stat counts.Patient)" -eq 19 ] || fail "the 19 good bundles were not stored"
for s in "$BEARER" wrong-SECRET-bearer-0000 "$BASIC_PASS" "$B64" "$HDR_VALUE"; do
    grep -rqF -- "$s" "$TMP/all.out" "$TMP/s" && fail "secret '$s' leaked: $(grep -rlF -- "$s" "$TMP/all.out" "$TMP/s")"
done
grep -c '"outcome":"failed"' "$TMP/s/post-journal.ndjson" >/dev/null || fail "no failure journaled"
ok "bearer, basic (plain and base64) and -H values appear in no output, journal line or file"
echo "$checks checks passed"
