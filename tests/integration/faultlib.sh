# faultlib.sh - sourced by test_faults*.sh after lib.sh: a small disk, an unprivileged user, waiting on journals.
# Nothing here skips: when a mechanism is refused the fallback is used, and when none works the test fails.

MOUNTS=()
fault_cleanup_hook() { :; }  # a test redefines it to stop its servers
fault_cleanup() {
    local m
    fault_cleanup_hook
    for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
    chmod -R u+w "$TMP" 2>/dev/null
    rm -rf "$TMP"
}
trap fault_cleanup EXIT

# small_disk NAME TMPFS_KB ULIMIT_KB: sets DISK_DIR to a folder $TMP/NAME where writes fail for lack of space.
# It is a tmpfs of TMPFS_KB KiB (ENOSPC) when mounting is allowed (root, or a container that permits it);
# otherwise a plain folder, and `limited` runs commands under `ulimit -f ULIMIT_KB` with SIGXFSZ ignored, so
# a write past that size fails with EFBIG. LLMSYN_FAULTS_NO_MOUNT=1 forces the fallback.
# Sets DISK_KIND (tmpfs or ulimit) and DISK_ERROR (the strerror text the tool should print).
small_disk() {
    DISK_DIR=$TMP/$1
    mkdir -p "$DISK_DIR"
    if [ "${LLMSYN_FAULTS_NO_MOUNT:-0}" != 1 ] &&
        mount -t tmpfs -o "size=${2}k,mode=0755" llmsyn-faults "$DISK_DIR" 2>/dev/null; then
        MOUNTS+=("$DISK_DIR")
        DISK_KIND=tmpfs DISK_ERROR="No space left on device" LIMIT_KB=""
    else
        [ "$3" -gt 0 ] || fail "small_disk: no file-size limit given for the fallback"
        DISK_KIND=ulimit DISK_ERROR="File too large" LIMIT_KB=$3
    fi
}
# limited CMD...: runs CMD on the small disk (under the file-size limit in the fallback).
limited() {
    if [ -n "$LIMIT_KB" ]; then
        (ulimit -f "$LIMIT_KB" && trap '' XFSZ && exec "$@")
    else
        "$@"
    fi
}
# free_space: gives the small disk room again (the fallback's limit only applies under `limited`).
free_space() {
    [ "$DISK_KIND" = tmpfs ] || return 0
    mount -o remount,size=256m "$DISK_DIR" || fail "cannot grow the tmpfs at $DISK_DIR"
}
# fill_disk KB: fills the tmpfs so that only about KB KiB stay free (tmpfs only).
fill_disk() {
    [ "$DISK_KIND" = tmpfs ] || fail "fill_disk needs the tmpfs"
    dd if=/dev/zero of="$DISK_DIR/filler" bs=4k 2>/dev/null
    truncate -s "-${1}K" "$DISK_DIR/filler" || fail "cannot shrink the filler"
}

# as_nobody CMD...: runs CMD as an unprivileged user (root ignores file modes, so modes alone prove nothing).
# Without root, the current user already is unprivileged.
NOBODY_UID=$(id -u)
NOBODY_HOW="as $(id -un)"
NOBODY_CMD=()
if [ "$(id -u)" -eq 0 ]; then
    NOBODY_UID=$(id -u nobody 2>/dev/null) || fail "no user 'nobody' to run unprivileged tests as"
    if command -v setpriv >/dev/null; then
        NOBODY_HOW="setpriv to nobody"
        NOBODY_CMD=(setpriv --reuid="$NOBODY_UID" --regid="$(id -g nobody)" --clear-groups --)
    elif command -v runuser >/dev/null; then
        NOBODY_HOW="runuser -u nobody"
        NOBODY_CMD=(runuser -u nobody --)
    else
        fail "neither setpriv nor runuser is installed: cannot run as an unprivileged user"
    fi
fi
# (Use "${NOBODY_CMD[@]}" CMD & directly for a background run, so $! is the tool and signals reach it.)
as_nobody() { "${NOBODY_CMD[@]}" "$@"; }

# wait_journal DIR N PID: waits until DIR's run journal lists N records; fails if PID ends first.
wait_journal() {
    local n=0
    while :; do
        [ -f "$1/.llmsyn-journal" ] && n=$(($(wc -l <"$1/.llmsyn-journal") - 1))
        [ "$n" -ge "$2" ] && return 0
        kill -0 "$3" 2>/dev/null || fail "the run in $1 ended before $2 records were journaled"
        sleep 0.01
    done
}
