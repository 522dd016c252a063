# test_install.sh - make install / uninstall honour PREFIX and DESTDIR; the installed tool runs from its data folder.
. "$(dirname "$0")/lib.sh"

cd "$ROOT" || fail "no repository"
make -s install DESTDIR="$TMP/stage" PREFIX=/opt/llmsyn >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "make install"; }
inst="$TMP/stage/opt/llmsyn"
for f in bin/llmsyn-fhir lib/libllmsyn.a include/llmsyn/llmsyn.h share/llmsyn-fhir/prompts/system.txt \
         share/llmsyn-fhir/prompts/demographics.prompt share/llmsyn-fhir/mappings/prior.json \
         share/llmsyn-fhir/mappings/knowledge.json; do
    [ -f "$inst/$f" ] || fail "make install did not install $f"
done
ok "make install puts binary, library, header, prompts and mappings under DESTDIR/PREFIX"

# The staged copy finds its data through --data-dir (it was built for PREFIX /usr/local).
expect_exit 0 "$inst/bin/llmsyn-fhir" --data-dir "$inst/share/llmsyn-fhir" --out "$TMP/o" -n 5 -q
check_bundles "$TMP/o" --expect 5
ok "the installed binary generates with the installed data"

make -s uninstall DESTDIR="$TMP/stage" PREFIX=/opt/llmsyn >/dev/null 2>&1 || fail "make uninstall"
left=$(find "$inst" -type f | head -5)
[ -z "$left" ] || fail "make uninstall left: $left"
ok "make uninstall removes every installed file"
echo "$checks checks passed"
