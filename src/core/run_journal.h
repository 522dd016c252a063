/* run_journal.h - the run journal (.llmsyn-journal): which records a run finished, so --resume can go on. */
#ifndef CORE_RUN_JOURNAL_H
#define CORE_RUN_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "llmsyn/llmsyn.h"
#include "out/sink.h"
#include "util/error.h"

#define RUN_JOURNAL_NAME ".llmsyn-journal"
#define RUN_JOURNAL_SYNC_EVERY 256 /* records between two fdatasyncs of the journal */
#define RUN_JOURNAL_MAX_HEADER 2048

/* Format (one line each, '\n'-terminated, values escaped: '\\', tab, CR, LF and other control bytes as \xNN):
 *   llmsyn-journal/1<TAB>seed=S<TAB>count=N<TAB>shard=K/N<TAB>format=F<TAB>mode=M<TAB>steps=...<TAB>backend=B<TAB>model=M
 *   <index> o[ <file>=<length>]...   record written; the appended files it grew and their lengths after it
 *   <index> f <reason>               record failed on its own
 * Record lines come in index order from the shard's first record. A last line without '\n' is torn (the
 * process died while writing it) and ignored. */

/* What a journal says. */
struct run_journal_state {
    uint64_t next;       /* first record not done */
    uint64_t ok, failed; /* records written / failed before `next` */
    size_t nfiles;
    struct sink_length files[SINK_MAX_PARTS]; /* lengths after record next - 1 */
    size_t valid;        /* bytes of the journal up to its last complete line */
};

/* Called for each failed record of a journal: index and reason (borrowed for the call). */
typedef int (*run_journal_failed_fn)(void *user, uint64_t index, const char *reason);

/* Writes the header line of o (with its '\n') into out. 0, or -1 when it does not fit. */
int run_journal_header(const struct llmsyn_options *o, char *out, size_t size);

/* Parses len bytes of journal text whose records start at index `first`. A header other than
 * `header` is a usage error naming the first option that differs (as its flag) and both values.
 * A malformed complete line is LLMSYN_E_OUTPUT naming `path` and the line. on_failed may be NULL.
 * 0, or -1 with err. */
int run_journal_parse(const char *path, const char *data, size_t len, const char *header, uint64_t first,
                      struct run_journal_state *st, run_journal_failed_fn on_failed, void *user,
                      struct error *err);

struct run_journal;

/* Opens <dir>/.llmsyn-journal for appending: with keep == 0 it is created anew holding `header`;
 * otherwise it is cut to its first `keep` bytes (the valid part, header included) and appended to.
 * Returns the journal (caller closes with run_journal_close) or NULL with err. */
struct run_journal *run_journal_open(const char *dir, const char *header, size_t keep, struct error *err);
/* Appends the line of a written record (files: the lengths of the appended files it grew) or, with
 * failed_reason, of a failed one: one write(2), so a kill -9 loses at most that line. Every
 * RUN_JOURNAL_SYNC_EVERY records the journal is fdatasynced (run_journal_sync_due() tells the caller
 * beforehand, so it can sync the output files first). 0, or -1 with err. */
int run_journal_add(struct run_journal *j, uint64_t index, const char *failed_reason,
                    const struct sink_length *files, size_t nfiles, struct error *err);
/* 1 when the next run_journal_add will fdatasync. */
int run_journal_sync_due(const struct run_journal *j);
/* Syncs and closes; with remove, deletes the journal (the run is complete). 0, or -1 with err. */
int run_journal_close(struct run_journal **j, int remove, struct error *err);

/* Reads <dir>/.llmsyn-journal into *data (caller frees with free()). 0, 1 when there is no journal,
 * or -1 with err. */
int run_journal_read(const char *dir, char **data, size_t *len, struct error *err);

#endif
