#!/usr/bin/env bash
# llm_bench.sh - records/s of the openai backend at --concurrency 1, 8, 64 against the local test server with a
# fixed 200 ms latency, beside the target 0.9 x C / (k x 0.2 s), and client CPU per model call (not a test).
# "server bound" is the best ratio the test server itself allows: the latency over the mean time its handlers
# took per request (--delay included). A ratio close to it means the server, not the client, is the limit.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/llmsyn-fhir"
delay=${LLM_BENCH_DELAY:-0.2}
k=4 # model calls per record: demographics, main diagnosis, complications, procedures
tmp=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"

# One canned answer per step: every record takes exactly k calls (no re-asks).
mkdir "$tmp/answers"
for step in demographics main_diagnosis complications procedures; do
    cp "$root/tests/data/openai/good/$step.prose.txt" "$tmp/answers/$step.txt"
done
# The server: bench/latency_server.mjs (Node; a timer per request, so the server is never the limit) by
# default, or LLM_BENCH_SERVER=python for the tests' thread-per-request fake_openai.py.
server_kind=${LLM_BENCH_SERVER:-node}
command -v node >/dev/null || server_kind=python
if [ "$server_kind" = node ]; then
    node "$root/bench/latency_server.mjs" "$tmp/answers" "$delay" >"$tmp/port" 2>"$tmp/server.log" &
else
    python3 "$root/tests/servers/fake_openai.py" --answers "$tmp/answers" --delay "$delay" >"$tmp/port" 2>"$tmp/server.log" &
fi
server=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(head -1 "$tmp/port")/v1"
# server_cpu: CPU seconds the test server has used (utime + stime of /proc/PID/stat).
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$server/stat"; }
# stats: "requests handler_seconds" of the test server so far.
stats() {
    curl -s "${url%/v1}/stats" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requests"], d["handler_seconds"])'
}

# run C N: prints "wall user+sys calls server-cpu handler-seconds" of one run of N records at concurrency C.
run() {
    local c=$1 n=$2 before after h0 h1 s0 s1
    read -r before h0 < <(stats)
    s0=$(server_cpu)
    rm -rf "$tmp/out"
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$bin" -q --out "$tmp/out" -n "$n" --seed 9 --format ndjson \
        --llm openai --llm-url "$url" --model fake-model --concurrency "$c" --no-cache >/dev/null 2>&1
    read -r after h1 < <(stats)
    s1=$(server_cpu)
    read -r wall user sys <"$tmp/time"
    echo "$wall $(echo "$user + $sys" | bc -l) $((after - before)) $(echo "$s1 - $s0" | bc -l)" \
        "$(echo "$h1 - $h0" | bc -l)"
}

# The client's start-up CPU (prior, knowledge base, dictionaries), taken off the per-call figure.
echo "machine load at start: $(uptime)"
echo "test server: $server_kind"
read -r _ base_cpu base_calls _ _ < <(run 1 1)
printf 'latency %.0f ms, k = %d calls per record; start-up CPU %.3f s (one record, %d calls)\n' \
    "$(echo "$delay * 1000" | bc -l)" "$k" "$base_cpu" "$base_calls"
printf '%-12s %8s %9s %10s %10s %7s %13s %16s %18s\n' concurrency records seconds "records/s" target "ratio" \
    "server bound" "CPU ms per call" "server ms per call"
for spec in ${LLM_BENCH_RUNS:-1:16 8:64 64:1024}; do
    c=${spec%%:*} n=${spec##*:}
    read -r wall cpu calls scpu hsec < <(run "$c" "$n")
    rate=$(echo "$n / $wall" | bc -l)
    target=$(echo "0.9 * $c / ($k * $delay)" | bc -l)
    per_call=$(echo "($cpu - $base_cpu) * 1000 / ($calls - $base_calls)" | bc -l)
    printf '%-12s %8d %9.2f %10.2f %10.2f %7.2f %13.2f %16.3f %18.3f\n' "$c" "$n" "$wall" "$rate" "$target" \
        "$(echo "$rate / ($target / 0.9)" | bc -l)" "$(echo "$delay * $calls / $hsec" | bc -l)" "$per_call" \
        "$(echo "$scpu * 1000 / $calls" | bc -l)"
done
echo "ratio: records/s over the ideal C / (k x latency); the target is 0.90"
echo "machine load at end: $(uptime)"
