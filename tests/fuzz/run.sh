#!/bin/sh
# run.sh - builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang -fsanitize=fuzzer,address,undefined
# against an instrumented build of the library sources and runs each for SECONDS (default 10) on a copy of
# its seed corpus (tests/fuzz/corpus/NAME/).
# Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]   (CC=clang-14 to pick another clang;
#        FUZZ_TARGETS="extract csv" to run only those targets; FUZZ_JOBS=2 parallel compiles)
# A crash leaves its input in BUILD_DIR/fuzz/crash-* and makes the script exit 1.
set -eu
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$root/build}
out="$build/fuzz"
cc=${CC:-clang}
case $secs in ''|*[!0-9]*) echo "run.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
command -v "$cc" >/dev/null 2>&1 || { echo "run.sh: $cc not found (tools/install-deps.sh installs clang)" >&2; exit 2; }
pkgs="libcurl libcjson libxml-2.0 uuid openssl zlib"
export FUZZ_CC="$cc" FUZZ_ROOT="$root" FUZZ_OBJ="$out/obj"
export FUZZ_CFLAGS="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DLLMSYN_DATADIR=\"/nonexistent\" \
-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -I$root/include -I$root/src \
$(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm -pthread"
mkdir -p "$out/obj"

# The library, instrumented, rebuilt only where a source or any header is newer than its object.
newest_h=$(ls -t "$root"/src/*/*.h "$root"/include/llmsyn/*.h | head -n 1)
ls "$root"/src/*/*.c | grep -v '/src/cli/' | FUZZ_H="$newest_h" xargs -P "${FUZZ_JOBS:-2}" -n 1 sh -c '
    o="$FUZZ_OBJ/$(echo "${0#$FUZZ_ROOT/src/}" | tr / _ | sed "s/\.c\$/.o/")"
    if [ ! -f "$o" ] || [ "$0" -nt "$o" ] || [ "$FUZZ_H" -nt "$o" ]; then
        $FUZZ_CC $FUZZ_CFLAGS -c "$0" -o "$o" || exit 255
    fi'
rm -f "$out/libllmsyn-fuzz.a"
ar rcs "$out/libllmsyn-fuzz.a" "$out"/obj/*.o

# FUZZ_WORK=DIR keeps the grown corpora there (for merging back); otherwise a temporary copy.
if [ -n "${FUZZ_WORK:-}" ]; then
    work=$FUZZ_WORK
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
status=0
for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    corpus=${name#fuzz_}
    if [ -n "${FUZZ_TARGETS:-}" ]; then
        case " $FUZZ_TARGETS " in *" $corpus "*) ;; *) continue ;; esac
    fi
    # shellcheck disable=SC2086
    "$cc" $FUZZ_CFLAGS -fsanitize=fuzzer "$src" "$out/libllmsyn-fuzz.a" $libs -o "$out/$name"
    mkdir -p "$work/$corpus"
    cp -n "$root/tests/fuzz/corpus/$corpus/"* "$work/$corpus/"
    case $corpus in codes|tables|csv) maxlen=4096 ;; *) maxlen=32768 ;; esac # whole JSON/XML seeds
    echo "run.sh: $name for ${secs}s"
    if ! LLMSYN_ROOT="$root" "$out/$name" -max_total_time="$secs" -max_len="${FUZZ_MAX_LEN:-$maxlen}" -timeout=10 \
            -seed="${FUZZ_SEED:-0}" -rss_limit_mb=1024 -artifact_prefix="$out/crash-$name-" -print_final_stats=1 "$work/$corpus" \
            >"$out/$name.log" 2>&1; then
        status=1
        tail -n 40 "$out/$name.log" >&2
        echo "run.sh: $name failed (log: $out/$name.log)" >&2
    else
        grep -E "^stat::number_of_executed_units|Done [0-9]+ runs" "$out/$name.log" | tail -n 1
    fi
done
exit $status
