#!/bin/sh
# check-src.sh - source rules a compiler does not enforce: banned functions, TODOs without an issue.
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
[ $status -eq 0 ] && echo "check-src: ok"
exit $status
