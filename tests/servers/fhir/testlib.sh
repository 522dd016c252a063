# testlib.sh - sourced by tests/integration/test_post*.sh after lib.sh: starts and stops the FHIR test server.
SRV="$ROOT/tests/servers/fhir"
command -v node >/dev/null || fail "node is not installed (tools/install-deps.sh installs nodejs and npm)"
if [ ! -d "$SRV/node_modules/@medplum/fhir-router" ]; then
    (cd "$SRV" && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 ||
        fail "npm ci in tests/servers/fhir failed: $(tail -5 "$TMP/npm.log")"
fi

SERVER_PID=""
SCHEME=http
# start_server [server.mjs options]: sets PORT and URL (https when --tls-cert is among the options).
start_server() {
    : >"$TMP/port"
    SCHEME=http
    case " $* " in *" --tls-cert "*) SCHEME=https ;; esac
    node "$SRV/server.mjs" "$@" >"$TMP/port" 2>"$TMP/server.log" &
    SERVER_PID=$!
    for _ in $(seq 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$TMP/port")
    [ -n "$PORT" ] || fail "FHIR test server did not start: $(cat "$TMP/server.log")"
    URL="$SCHEME://127.0.0.1:$PORT"
}
stop_server() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$TMP"' EXIT
# CURL_TLS: extra curl options for the control endpoints (set by the TLS test).
CURL_TLS=""
# shellcheck disable=SC2086
ctl() { curl -sf $CURL_TLS -X POST -H 'Content-Type: application/json' --data "${2:-{\}}" "$URL/__test/$1" >/dev/null || fail "control $1"; }
# shellcheck disable=SC2086
stats() { curl -sf $CURL_TLS "$URL/__test/stats"; }
# stat KEY: one number from /__test/stats, e.g. "posts" or "counts.Patient".
stat() { stats | python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$1"; }
# same_counts DIR WHAT: the server's Patients, Encounters, Conditions, Procedures equal those in DIR's bundles.
same_counts() {
    local t want got
    for t in Patient Encounter Condition Procedure; do
        want=$(grep -o "\"resourceType\":\"$t\"" "$1"/record-*.json | wc -l)
        got=$(stat "counts.$t")
        [ "$want" -gt 0 ] && [ "$got" = "$want" ] || fail "$t: server holds $got, the bundles hold $want ($2)"
    done
}
