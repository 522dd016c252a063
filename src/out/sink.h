/* sink.h - where finished records go: a bundle folder, NDJSON per resource type, or the paper's flat CSV. */
#ifndef OUT_SINK_H
#define OUT_SINK_H

#include <cjson/cJSON.h>

#include "core/record.h"
#include "llmsyn/llmsyn.h"
#include "util/buf.h"
#include "util/error.h"

/* The bytes one record contributes to the output, rendered by a worker thread.
 * Each part goes to one output file, named relative to the output folder. */
#define SINK_MAX_PARTS 16
struct sink_chunk {
    uint64_t index;
    size_t nparts;
    struct {
        char name[64];     /* "bundles/0000000042.json", "Patient.ndjson", "records.csv" */
        struct buf data;
    } parts[SINK_MAX_PARTS];
};

void sink_chunk_reset(struct sink_chunk *c);
void sink_chunk_free(struct sink_chunk *c);

/* Renders a record (and its bundle) for `format` into c. Pure: safe from several threads. */
int sink_render(llmsyn_format format, const struct record *rec, const cJSON *bundle, struct sink_chunk *c,
                struct error *err);

struct sink;

/* Prepares `dir`: creates it, refuses a non-empty folder unless force (LLMSYN_E_OUTPUT
 * with the folder named). Caller closes with sink_close. */
struct sink *sink_open(const char *dir, llmsyn_format format, int force, struct error *err);
/* Writes a chunk. Record files are written under a temporary name and renamed;
 * appended files (NDJSON, CSV) are kept as temporary files until sink_close. Single-threaded. */
int sink_write(struct sink *s, const struct sink_chunk *c, struct error *err);
/* An appended output file (NDJSON, CSV) and its length in bytes. */
struct sink_length {
    char name[64]; /* visible name, e.g. "Patient.ndjson" */
    uint64_t len;
};
/* Opens `dir` to go on with an interrupted run (--resume): each appended file of `files` (as hidden
 * partial file, or visible when the interrupted run published it) is cut back to its length (a file
 * shorter than that is an error); other partial files and "*.tmp" leftovers are removed. */
struct sink *sink_open_resume(const char *dir, llmsyn_format format, const struct sink_length *files, size_t nfiles,
                              struct error *err);
/* Sets out[0..*n) to the current lengths of the appended files chunk c was written to (none for bundles). */
int sink_lengths(const struct sink *s, const struct sink_chunk *c, struct sink_length *out, size_t *n,
                 struct error *err);
/* Makes everything written so far durable (fdatasync of the appended files; syncfs for record files). */
int sink_sync(struct sink *s, struct error *err);
/* Writes a whole file atomically (temporary name, fsync, rename) into the output folder. */
int sink_write_file(struct sink *s, const char *name, const char *data, size_t len, struct error *err);
/* Finishes: renames appended files into place when ok != 0, removes them otherwise; frees s. */
int sink_close(struct sink **s, int ok, struct error *err);

/* Writes `len` bytes to `path` atomically (path.tmp, fsync, rename). */
int write_file_atomic(const char *path, const char *data, size_t len, struct error *err);

#endif
