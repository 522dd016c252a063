/* journal.h - the post journal: an append-only, fsync'd record of each bundle's upload outcome. */
#ifndef NET_JOURNAL_H
#define NET_JOURNAL_H

#include <stdint.h>

#include "util/error.h"

#define JOURNAL_NAME "post-journal.ndjson"

/* One line of the journal (strings borrowed). */
struct journal_line {
    const char *file;     /* bundle file name, relative to the journal's folder */
    uint64_t hash;        /* FNV-1a 64 of the bytes as read from disk */
    const char *outcome;  /* "ok" or "failed" */
    long http;            /* last HTTP status, 0 when none */
    unsigned created, updated, attempts;
    const char *reason;   /* for "failed"; must already be free of secrets; may be NULL */
};

struct journal;

/* Opens (creating) <dir>/post-journal.ndjson for `target` (a redacted base URL) and loads which
 * bundles it already holds as "ok" for that target. A torn last line (kill -9) is ignored.
 * Returns the journal, or NULL with err (LLMSYN_E_OUTPUT). Caller frees with journal_close. */
struct journal *journal_open(const char *dir, const char *target, struct error *err);
void journal_close(struct journal **j);

/* Whether `file` with content hash `hash` was posted to the target before. */
int journal_has_ok(const struct journal *j, const char *file, uint64_t hash);

/* Appends one line and fsyncs it before returning. Returns 0, or -1 with err (LLMSYN_E_OUTPUT). */
int journal_append(struct journal *j, const struct journal_line *line, struct error *err);

/* Lines loaded as "ok" for the target. */
uint64_t journal_ok_count(const struct journal *j);

/* FNV-1a 64 of n bytes. */
uint64_t journal_hash(const char *data, size_t n);

#endif
