#!/usr/bin/env bash
# post_bench.sh - bundles/s of `llmsyn-fhir post` vs a raw client (curl under xargs -P) at the same
# concurrency, same files, same server (tests/servers/fhir); and the same records posted from NDJSON
# (--format ndjson, requests of 100 resources in dependency phases). Usage: bench/post_bench.sh [BUILD] [N] [CONCURRENCY]
set -euo pipefail
build=${1:-build} n=${2:-1000} conc=${3:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/llmsyn-fhir" srv="$root/tests/servers/fhir"
tmp=$(mktemp -d) pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
[ -d "$srv/node_modules/@medplum/fhir-router" ] || (cd "$srv" && npm ci --no-audit --no-fund --loglevel=error)
node "$srv/server.mjs" >"$tmp/port" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(head -1 "$tmp/port")"
"$bin" -n "$n" --out "$tmp/b" -q >/dev/null 2>&1
"$bin" -n "$n" --out "$tmp/nd" --format ndjson -q >/dev/null 2>&1
now() { date +%s.%N; }
reset() { curl -sf -X POST "$url/__test/reset" >/dev/null; }

reset; cp -r "$tmp/b" "$tmp/warm"; "$bin" post "$tmp/warm" --to "$url" --concurrency "$conc" -q   # warm the JIT
reset; t0=$(now)
"$bin" post "$tmp/b" --to "$url" --concurrency "$conc" --no-preflight -q
t1=$(now)
reset; t2=$(now)
find "$tmp/b" -name 'record-*.json' -print0 | xargs -0 -P "$conc" -I{} curl -sf -o /dev/null -X POST \
    -H 'Content-Type: application/fhir+json' --data-binary @{} "$url/"
t3=$(now)
reset; t4=$(now)
"$bin" post "$tmp/nd" --to "$url" --concurrency "$conc" --no-preflight -q
t5=$(now)
python3 - "$n" "$conc" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" <<'PY'
import sys
n, c = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2, t3, t4, t5 = map(float, sys.argv[3:])
ours, raw = n / (t1 - t0), n / (t3 - t2)
print(f"post_bench: {n} bundles, concurrency {c}")
print(f"  llmsyn-fhir post : {ours:8.1f} bundles/s")
print(f"  curl | xargs -P  : {raw:8.1f} bundles/s")
print(f"  ratio            : {ours / raw:8.2f}")
print(f"  llmsyn-fhir post of the same records as NDJSON: {n / (t5 - t4):8.1f} records/s")
PY
