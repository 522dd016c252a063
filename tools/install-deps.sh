#!/bin/sh
# install-deps.sh - installs the Debian packages llmsyn-fhir needs to build and test, only those missing.
set -eu
# clang and libclang-rt-dev (libFuzzer, ASan and UBSan runtimes): tests/fuzz/run.sh, which make test runs
# briefly, and the sanitized pass of make test (make test-san)
# valgrind: tests/integration/test_valgrind.sh (memcheck over every backend and post)
# cppcheck and clang-tidy: the static analysis of `make check-src` (tools/check-src.sh)
# gnuplot-nox: the PNG plots of `llmsyn-fhir eval` (tests/integration/test_eval.sh)
# python3-sklearn: the random forests of tools/utility.py (`eval --utility`, tests/integration/test_utility.sh);
# it installs for /usr/bin/python3, which the tests find when the python3 on PATH lacks scikit-learn
packages="make gcc libc6-dev pkg-config libcurl4-openssl-dev libcjson-dev libxml2-dev uuid-dev libssl-dev zlib1g-dev
libcmocka-dev python3 git ca-certificates clang libclang-rt-dev cppcheck clang-tidy valgrind gnuplot-nox python3-sklearn"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The FHIR test server (tests/servers/fhir) runs on Node; a node already on PATH (e.g. from NodeSource) is kept.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
