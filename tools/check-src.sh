#!/bin/sh
# check-src.sh - source rules a compiler does not enforce: banned functions, TODOs without an issue,
# cppcheck and clang-tidy (docs/source-checks.md).
set -u
cd "$(dirname "$0")/.." || exit 2
status=0
banned='\b(atoi|atol|sprintf|vsprintf|strcpy|strcat|strncat|strtok|gets|gmtime|localtime|ctime|asctime|tmpnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" src/*/*.c src/*/*.h include/llmsyn/*.h tests/unit/*.c 2>/dev/null; then
    echo "check-src: banned functions above (use snprintf, strtol with checks, memcpy with lengths)" >&2
    status=1
fi
if grep -nE '\b(TODO|FIXME|XXX)\b' src/*/*.[ch] include/llmsyn/*.h 2>/dev/null | grep -vE '#[0-9]+'; then
    echo "check-src: TODO/FIXME above without an issue reference (#N)" >&2
    status=1
fi

# Static analysis (docs/source-checks.md). Flags as the Makefile compiles with, so both tools see our config.
# the quotes are meant literally: LLMSYN_DATADIR is a string literal in C
# shellcheck disable=SC2089,SC2090
defs="-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DLLMSYN_DATADIR=\"/usr/local/share/llmsyn-fhir\""
jobs=$(nproc 2>/dev/null || echo 2)
if command -v cppcheck >/dev/null 2>&1; then
    # shellcheck disable=SC2086,SC2090
    if ! cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,style,performance,portability \
        --library=tools/cppcheck/cjson.cfg --suppressions-list=tools/cppcheck/suppressions.txt --inline-suppr \
        -Iinclude -Isrc $defs -j "$jobs" src/; then
        echo "check-src: cppcheck findings above (tools/cppcheck/suppressions.txt lists what is not acted on)" >&2
        status=1
    fi
else
    echo "check-src: cppcheck is not installed (tools/install-deps.sh installs it)" >&2
    status=1
fi
# clang-tidy with .clang-tidy (bugprone-*, cert-*) over every file of src/, two files at a time per core.
# CHECK_SRC_ANALYZER=1 adds clang-analyzer-* (10-15 s a file) as a report that does not fail the check.
if command -v clang-tidy >/dev/null 2>&1; then
    pkgs="libcurl libcjson libxml-2.0 uuid openssl zlib"
    # shellcheck disable=SC2086,SC2090
    TIDY_FLAGS="-std=c11 -Iinclude -Isrc $defs $(pkg-config --cflags $pkgs 2>/dev/null)"
    # shellcheck disable=SC2090
    export TIDY_FLAGS
    # shellcheck disable=SC2016
    if ! printf '%s\n' src/*/*.c | xargs -P "$jobs" -n 4 sh -c 'clang-tidy --quiet "$@" -- $TIDY_FLAGS 2>/dev/null' sh; then
        echo "check-src: clang-tidy findings above (.clang-tidy lists the checks and why some are off)" >&2
        status=1
    fi
    if [ "${CHECK_SRC_ANALYZER:-0}" = 1 ]; then
        echo "check-src: clang-analyzer report (not a failure; docs/source-checks.md)"
        # shellcheck disable=SC2016
        # DeprecatedOrUnsafeBufferHandling flags every memcpy; valist.Uninitialized is a clang 14 false positive
        ANALYZER_CHECKS="-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling"
        ANALYZER_CHECKS="$ANALYZER_CHECKS,-clang-analyzer-optin.*,-clang-analyzer-valist.Uninitialized"
        export ANALYZER_CHECKS
        # shellcheck disable=SC2016
        printf '%s\n' src/*/*.c | xargs -P "$jobs" -n 4 sh -c \
            'clang-tidy --quiet --checks="$ANALYZER_CHECKS" --warnings-as-errors=-* "$@" -- $TIDY_FLAGS 2>/dev/null' sh ||
            true
    fi
else
    echo "check-src: clang-tidy is not installed (tools/install-deps.sh installs it)" >&2
    status=1
fi
[ $status -eq 0 ] && echo "check-src: ok"
exit $status
