# test_fresh_clone.sh - the README's first command works on a copy of the tracked files with no build/.
. "$(dirname "$0")/lib.sh"

cd "$ROOT" || fail "no repository"
git ls-files -z | xargs -0 cp --parents -t "$TMP" 2>/dev/null || fail "cannot copy the tracked files"
[ ! -e "$TMP/build" ] || fail "build/ is tracked"
cmd=$(sed -n 's/^    *\(tools\/install-deps.sh && make run\)$/\1/p' "$ROOT/README.md" | head -1)
[ -n "$cmd" ] || fail "README.md does not show the run command"
(cd "$TMP" && eval "$cmd") >"$TMP/run.log" 2>&1 || { tail -20 "$TMP/run.log"; fail "'$cmd' failed"; }
check_bundles "$TMP/out/bundles" --expect 100
ok "'$cmd' from a clean copy builds and writes 100 valid bundles"
echo "$checks checks passed"
