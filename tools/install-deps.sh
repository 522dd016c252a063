#!/bin/sh
# install-deps.sh - installs the Debian packages llmsyn-fhir needs to build and test, only those missing.
set -eu
# clang and libclang-rt-dev (libFuzzer runtime): tests/fuzz/run.sh, which make test runs briefly
packages="make gcc libc6-dev pkg-config libcurl4-openssl-dev libcjson-dev libxml2-dev uuid-dev libssl-dev
libcmocka-dev python3 git ca-certificates clang libclang-rt-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
