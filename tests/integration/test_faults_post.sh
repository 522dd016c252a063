#!/usr/bin/env bash
# test_faults_post.sh - `post` under faults: disk full while journaling, unwritable folder, read-only journal,
# replies cut mid-body past the retries, SIGINT/SIGTERM mid-upload. Each: clear error, named exit status,
# the journal never torn, and the same command again completes with the server holding no duplicates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
. "$ROOT/tests/servers/fhir/testlib.sh"
fault_cleanup_hook() { stop_server; }
trap fault_cleanup EXIT  # testlib.sh set its own trap; ours also unmounts

J=post-journal.ndjson
# journal_sound FILE: every line is complete JSON (a failed or interrupted append left no torn line).
journal_sound() {
    [ ! -s "$1" ] || [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || fail "$1 ends in a torn line"
    python3 -c 'import json,sys
for n, l in enumerate(open(sys.argv[1]), 1): json.loads(l)' "$1" || fail "$1 holds a line that is not JSON"
}
oks() { if [ -f "$1/$J" ]; then grep -c '"outcome":"ok"' "$1/$J" || true; else echo 0; fi; }
# once_each DIR N: the journal names each of the N bundles once as ok (nothing posted twice for the record).
once_each() {
    local got
    got=$(grep -o '"file":"[^"]*","hash":"[^"]*","target":"[^"]*","outcome":"ok"' "$1/$J" | sort | uniq -c |
        awk '$1 == 1' | wc -l)
    [ "$got" -eq "$2" ] || fail "the journal in $1 names $got bundles once as ok, expected $2"
}
posts() { stat posts; }

start_server
expect_exit 0 "$BIN" -q -n 60 --out "$TMP/pristine" --seed 11

# ---- 1. Disk full while writing the post journal ----
small_disk disk 4096 8
cp -r "$TMP/pristine" "$DISK_DIR/b"
[ "$DISK_KIND" = tmpfs ] && fill_disk 8
expect_exit 7 limited "$BIN" post "$DISK_DIR/b" --to "$URL" --concurrency 2
expect_stderr "cannot write '$DISK_DIR/b/$J': $DISK_ERROR"
expect_stderr "the same command"
journal_sound "$DISK_DIR/b/$J"
before=$(oks "$DISK_DIR/b")
[ "$before" -gt 0 ] && [ "$before" -lt 60 ] || fail "disk full: $before bundles journaled"
if [ "$DISK_KIND" = tmpfs ]; then rm "$DISK_DIR/filler"; fi
expect_exit 0 "$BIN" post "$DISK_DIR/b" --to "$URL" --concurrency 2
expect_stderr "$before already posted"
same_counts "$DISK_DIR/b" "after a full disk and a rerun"
once_each "$DISK_DIR/b" 60
ok "post journal on a full disk ($DISK_KIND) after $before bundles: exit 7 naming it, no torn line; rerun exact"

# ---- 2. Unwritable bundle folder, read-only journal (as an unprivileged user) ----
ctl reset
chmod 755 "$TMP"
cp -r "$TMP/pristine" "$TMP/rootb" && chmod 555 "$TMP/rootb"
expect_exit 7 as_nobody "$BIN" post "$TMP/rootb" --to "$URL" -q
expect_stderr "cannot open '$TMP/rootb/$J': Permission denied"
[ "$(posts)" -eq 0 ] || fail "a post that cannot journal sent $(posts) bundles"
mkdir "$TMP/nb" && cp "$TMP"/pristine/record-000000000*.json "$TMP/nb/" && chown -R "$NOBODY_UID" "$TMP/nb"
expect_exit 0 as_nobody "$BIN" post "$TMP/nb" --to "$URL" -q
cp "$TMP"/pristine/record-*.json "$TMP/nb/" && chown -R "$NOBODY_UID" "$TMP/nb"
chmod a-w "$TMP/nb/$J"
cp "$TMP/nb/$J" "$TMP/journal.before"
sent=$(posts)
expect_exit 7 as_nobody "$BIN" post "$TMP/nb" --to "$URL" -q
expect_stderr "cannot open '$TMP/nb/$J': Permission denied"
[ "$(posts)" -eq "$sent" ] || fail "a post with a read-only journal sent bundles"
cmp -s "$TMP/nb/$J" "$TMP/journal.before" || fail "the read-only journal changed"
chmod u+w "$TMP/nb/$J"
expect_exit 0 as_nobody "$BIN" post "$TMP/nb" --to "$URL"
expect_stderr "10 already posted"
same_counts "$TMP/nb" "after a read-only journal"
once_each "$TMP/nb" 60
ok "unwritable folder, read-only journal ($NOBODY_HOW): exit 7 naming it, nothing sent; rerun exact"

# ---- 3. Replies cut mid-body (committed, then the connection reset) on every attempt ----
# (Cut replies that a retry gets past are covered by test_post.sh, faults section.)
ctl reset
mkdir "$TMP/cut" && cp "$TMP"/pristine/record-000000001[0-9].json "$TMP/cut/"
ctl fault '{"faults":["reset-after:1000"]}'
expect_exit 6 "$BIN" post "$TMP/cut" --to "$URL" --concurrency 2 --retries 2 --timeout 5
expect_stderr "gave up after 3 attempts"
expect_stderr "posted 0 of 10 bundles"
journal_sound "$TMP/cut/$J"
[ "$(oks "$TMP/cut")" -eq 0 ] || fail "a bundle whose reply was cut was journaled as posted"
ctl fault '{"faults":[]}'
expect_exit 0 "$BIN" post "$TMP/cut" --to "$URL" --concurrency 2
expect_stderr "posted 10 of 10 bundles"
same_counts "$TMP/cut" "after cut replies and a rerun"
once_each "$TMP/cut" 10
ok "every reply cut mid-body: exit 6 after the retries naming why; rerun stores each bundle once"

# ---- 4. SIGINT and SIGTERM mid-upload (slow server) ----
for sig in INT TERM; do
    ctl reset
    ctl fault '{"faults":["slow:100000:150"]}'
    d="$TMP/sig-$sig"
    cp -r "$TMP/pristine" "$d"
    "$BIN" post "$d" --to "$URL" --concurrency 2 >"$TMP/stdout" 2>"$TMP/stderr" &
    pid=$!
    while [ "$(oks "$d")" -lt 6 ]; do
        kill -0 "$pid" 2>/dev/null || fail "SIG$sig: post ended before 6 bundles"
        sleep 0.02
    done
    kill "-$sig" "$pid"
    rc=0; wait "$pid" || rc=$?
    [ "$rc" -eq 8 ] || { cat "$TMP/stderr" >&2; fail "SIG$sig: post exited $rc, expected 8"; }
    done_b=$(oks "$d")
    [ "$done_b" -lt 60 ] || fail "SIG$sig: the upload finished before the signal"
    expect_stderr "posted $done_b of 60 bundles"
    expect_stderr "interrupted; run the same command again to resume"
    journal_sound "$d/$J"
    ctl fault '{"faults":[]}'
    expect_exit 0 "$BIN" post "$d" --to "$URL" --concurrency 2
    expect_stderr "$done_b already posted"
    same_counts "$d" "after SIG$sig and a rerun"
    once_each "$d" 60
    ok "SIG$sig mid-upload after $done_b bundles: exit 8, says what was done and how to resume; rerun exact"
done
echo "$checks checks passed"
