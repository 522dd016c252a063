#!/bin/sh
# run.sh - builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang -fsanitize=fuzzer,address,undefined
# and runs each for SECONDS (default 10) on a copy of its seed corpus (tests/fuzz/corpus/NAME/).
# Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]   (CC=clang-14 to pick another clang)
# A crash leaves its input in BUILD_DIR/fuzz/crash-* and makes the script exit 1.
set -eu
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$root/build}
out="$build/fuzz"
cc=${CC:-clang}
case $secs in ''|*[!0-9]*) echo "run.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
command -v "$cc" >/dev/null 2>&1 || { echo "run.sh: $cc not found (tools/install-deps.sh installs clang)" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    corpus=${name#fuzz_}
    "$cc" -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all -I"$root/include" -I"$root/src" "$src" "$root"/src/codes/*.c \
        "$root/src/util/error.c" -lm -o "$out/$name"
    mkdir -p "$work/$corpus"
    cp "$root/tests/fuzz/corpus/$corpus/"* "$work/$corpus/"
    echo "run.sh: $name for ${secs}s"
    if ! LLMSYN_ROOT="$root" "$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 \
            -artifact_prefix="$out/crash-$name-" -print_final_stats=1 "$work/$corpus" >"$out/$name.log" 2>&1; then
        status=1
        tail -n 40 "$out/$name.log" >&2
        echo "run.sh: $name failed (log: $out/$name.log)" >&2
    else
        grep -E "^stat::number_of_executed_units|Done [0-9]+ runs" "$out/$name.log" | tail -n 1
    fi
done
exit $status
